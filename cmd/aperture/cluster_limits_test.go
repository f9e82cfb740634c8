package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestClusterLimitsAndMetrics: with --rate-likes 5/1m on three nodes of
// the real binary, one account's likes and unlikes sent to the nodes in
// turn are allowed five times in all, not five times on each node; and
// every node exports the cluster's gauges, which agree with each other.
func TestClusterLimitsAndMetrics(t *testing.T) {
	c := &nodes{t: t, dir: t.TempDir()}
	c.env = append(os.Environ(), "APERTURE="+binary, "APERTURE_PARTITIONS="+strconv.Itoa(clusterParts), "APERTURE_LOG_LEVEL=warn",
		"APERTURE_RATE_LIKES=5/1m", "APERTURE_WAIT=90")
	t.Cleanup(func() {
		for i := 1; i <= 3; i++ {
			if pid := c.pid(i); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	c.run()
	u := []string{c.url(1), c.url(2), c.url(3)}

	// The first node up may own every partition for a moment: wait until
	// each owns its share and no lease has moved for two seconds (a
	// partition's new owner starts its accounts with full budgets).
	last, since := "", time.Now()
	waitFor(t, 60*time.Second, func() bool {
		o := c.owners(1)
		now := fmt.Sprint(o)
		if now != last {
			last, since = now, time.Now()
			return false
		}
		return time.Since(since) > 2*time.Second && o["node1"] >= clusterParts/3 && o["node2"] >= clusterParts/3 && o["node3"] >= clusterParts/3
	})
	// Every partition has its owner, and every node has heard of all
	// three (the gauges read the cluster's buckets).
	gauge := func(body, name string) float64 {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			return -1
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	var bodies [3]string
	waitFor(t, 30*time.Second, func() bool {
		owned := 0.0
		for i := range 3 {
			bodies[i] = string(fetch(t, u[i]+"/metrics"))
			if gauge(bodies[i], "aperture_cluster_nodes_ready") != 3 {
				return false
			}
			owned += gauge(bodies[i], "aperture_cluster_partitions_owned")
		}
		return owned == clusterParts
	})
	for i, b := range bodies {
		for _, want := range []string{`aperture_cluster_replica_lag{partition="0"}`, `aperture_cluster_lease_age_seconds{partition="` + strconv.Itoa(clusterParts-1) + `"}`,
			"aperture_cluster_rate_limit_fallbacks_total 0"} {
			if !strings.Contains(b, want) {
				t.Errorf("node%d's metrics lack %s", i+1, want)
			}
		}
	}
	// The owners answer for their accounts once their subscriptions
	// have spread (they follow ownership every 100 ms).
	time.Sleep(500 * time.Millisecond)

	ana := mustReq(t, 201, "POST", u[0]+"/api/v1/auth/signup", "", map[string]string{"username": "ana", "password": "correct horse battery"})["access_token"].(string)
	ben := mustReq(t, 201, "POST", u[1]+"/api/v1/auth/signup", "", map[string]string{"username": "ben", "password": "correct horse battery"})["access_token"].(string)
	media := uploadTo(t, c.addr(1), ana)
	post := mustReq(t, 201, "POST", u[0]+"/api/v1/posts", ana, map[string]any{"caption": "limits", "media_ids": []string{media["id"].(string)}})["id"].(string)
	allowed, refused := 0, 0
	for i := range 15 {
		method := map[bool]string{true: "POST", false: "DELETE"}[i%2 == 0]
		code, m := req(method, u[i%3]+"/api/v1/posts/"+post+"/like", ben, nil)
		switch code {
		case 200:
			allowed++
		case 429:
			refused++
		default:
			t.Fatalf("%s like through node%d: %d %v", method, i%3+1, code, m)
		}
	}
	fallbacks := 0.0
	for i := range 3 {
		fallbacks += gauge(string(fetch(t, u[i]+"/metrics")), "aperture_cluster_rate_limit_fallbacks_total")
	}
	if allowed != 5 || refused != 10 {
		t.Fatalf("15 likes and unlikes through three nodes at 5/1m: %d allowed, %d refused (%v takes counted away from the owner)", allowed, refused, fallbacks)
	}
	if fallbacks != 0 {
		t.Fatalf("%v takes counted away from the account's owner", fallbacks)
	}
}
