package alerts

import "github.com/prometheus/client_golang/prometheus"

// Collector exports the engine's rules as aperture_alerts_firing{alert}:
// 1 while a rule fires, 0 otherwise.
func (e *Engine) Collector() prometheus.Collector { return engineCollector{e} }

var firingDesc = prometheus.NewDesc("aperture_alerts_firing", "1 while the built-in alert rule fires, 0 otherwise.", []string{"alert"}, nil)

type engineCollector struct{ e *Engine }

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) { ch <- firingDesc }

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.e.Statuses() {
		v := 0.0
		if s.State == StateFiring {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(firingDesc, prometheus.GaugeValue, v, s.Name)
	}
}

// SystemCollector exports the data volume's space and the memory in use
// against its limit (the measurements of the disk and memory rules),
// reading each once per scrape: aperture_data_volume_free_bytes,
// aperture_data_volume_size_bytes, aperture_memory_used_bytes,
// aperture_memory_limit_bytes. A measurement that fails is left out.
func SystemCollector(dataDir string) prometheus.Collector { return systemCollector{dataDir} }

var (
	volumeFreeDesc = prometheus.NewDesc("aperture_data_volume_free_bytes", "Bytes free to aperture on the data directory's volume.", nil, nil)
	volumeSizeDesc = prometheus.NewDesc("aperture_data_volume_size_bytes", "Size of the data directory's volume.", nil, nil)
	memUsedDesc    = prometheus.NewDesc("aperture_memory_used_bytes", "Memory in use: the cgroup's working set (usage less inactive file cache), or the machine's used memory without a cgroup limit.", nil, nil)
	memLimitDesc   = prometheus.NewDesc("aperture_memory_limit_bytes", "The cgroup's memory limit, or the machine's memory without one.", nil, nil)
)

type systemCollector struct{ dir string }

func (systemCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{volumeFreeDesc, volumeSizeDesc, memUsedDesc, memLimitDesc} {
		ch <- d
	}
}

func (c systemCollector) Collect(ch chan<- prometheus.Metric) {
	if free, total, err := VolumeSpace(c.dir); err == nil {
		ch <- prometheus.MustNewConstMetric(volumeFreeDesc, prometheus.GaugeValue, float64(free))
		ch <- prometheus.MustNewConstMetric(volumeSizeDesc, prometheus.GaugeValue, float64(total))
	}
	if used, limit, err := SystemMemory(); err == nil {
		ch <- prometheus.MustNewConstMetric(memUsedDesc, prometheus.GaugeValue, float64(used))
		ch <- prometheus.MustNewConstMetric(memLimitDesc, prometheus.GaugeValue, float64(limit))
	}
}
