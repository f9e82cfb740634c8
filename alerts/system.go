package alerts

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// VolumeSpace returns the bytes free to an unprivileged process, and the
// size, of the file system holding dir.
func VolumeSpace(dir string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
}

// cgroupRoot is where the process's cgroup files are read (a variable
// for tests).
var cgroupRoot = "/sys/fs/cgroup"

// SystemMemory returns the memory this process's container uses and may
// use: the cgroup's (v2, then v1) usage less its inactive file cache —
// the working set, which the kernel cannot simply drop — against its
// limit; without a cgroup limit, the machine's memory in use
// (MemTotal − MemAvailable) against MemTotal.
func SystemMemory() (used, limit uint64, err error) {
	// cgroup v2: the process's own group (a systemd unit's MemoryMax is
	// on /system.slice/aperture.service), then the root seen from a
	// container.
	for _, dir := range []string{cgroupRoot + ownCgroup(), cgroupRoot} {
		if used, limit, ok := cgroupMemory(dir+"/memory.current", dir+"/memory.max", dir+"/memory.stat", "inactive_file"); ok {
			return used, limit, nil
		}
	}
	v1 := cgroupRoot + "/memory/"
	if used, limit, ok := cgroupMemory(v1+"memory.usage_in_bytes", v1+"memory.limit_in_bytes", v1+"memory.stat", "total_inactive_file"); ok {
		return used, limit, nil
	}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0, err
	}
	info := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			info[strings.TrimSuffix(f[0], ":")] = n * 1024
		}
	}
	total, avail := info["MemTotal"], info["MemAvailable"]
	if total == 0 {
		return 0, 0, errors.New("/proc/meminfo has no MemTotal")
	}
	return total - min(avail, total), total, nil
}

// procCgroup names the process's cgroups (a variable for tests).
var procCgroup = "/proc/self/cgroup"

// ownCgroup returns the process's cgroup v2 path ("/system.slice/x"), or
// "" when there is none.
func ownCgroup() string {
	b, err := os.ReadFile(procCgroup)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok && p != "/" && !strings.Contains(p, "..") {
			return p
		}
	}
	return ""
}

// cgroupMemory reads a cgroup's usage and limit; ok is false when there
// is no such cgroup or no limit on it.
func cgroupMemory(usageFile, limitFile, statFile, inactiveKey string) (used, limit uint64, ok bool) {
	read := func(name string) (uint64, bool) {
		b, err := os.ReadFile(name)
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		return n, err == nil
	}
	limit, ok = read(limitFile)
	if !ok || limit == 0 || limit >= 1<<60 { // "max", or v1's "no limit" (a page-rounded 2^63)
		return 0, 0, false
	}
	used, ok = read(usageFile)
	if !ok {
		return 0, 0, false
	}
	if b, err := os.ReadFile(statFile); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, found := strings.CutPrefix(line, inactiveKey+" "); found {
				if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil && n < used {
					used -= n
				}
			}
		}
	}
	return used, limit, true
}
