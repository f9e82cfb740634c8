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

// SystemCollectors export the data volume's space and the memory in use
// against its limit (the measurements of the disk and memory rules):
// aperture_data_volume_free_bytes, aperture_data_volume_size_bytes,
// aperture_memory_used_bytes, aperture_memory_limit_bytes.
func SystemCollectors(dataDir string) []prometheus.Collector {
	disk := func(free bool) func() float64 {
		return func() float64 {
			f, t, err := VolumeSpace(dataDir)
			if err != nil {
				return 0
			}
			if free {
				return float64(f)
			}
			return float64(t)
		}
	}
	mem := func(used bool) func() float64 {
		return func() float64 {
			u, l, err := SystemMemory()
			if err != nil {
				return 0
			}
			if used {
				return float64(u)
			}
			return float64(l)
		}
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_data_volume_free_bytes", Help: "Bytes free to aperture on the data directory's volume."}, disk(true)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_data_volume_size_bytes", Help: "Size of the data directory's volume."}, disk(false)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_memory_used_bytes", Help: "Memory in use: the cgroup's working set (usage less inactive file cache), or the machine's used memory without a cgroup limit."}, mem(true)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aperture_memory_limit_bytes", Help: "The cgroup's memory limit, or the machine's memory without one."}, mem(false)),
	}
}
