package cluster

import (
	"testing"
)

// TestAssign checks the partition map: the partitions spread evenly, and
// when a node goes, its partitions move and few others do.
func TestAssign(t *testing.T) {
	for _, parts := range []int{8, 16, 64, 256} {
		three := assign(parts, []string{"node1", "node2", "node3"})
		two := assign(parts, []string{"node1", "node3"})
		count := map[string]int{}
		moved := 0
		for part := range parts {
			count[three[part]]++
			if two[part] == "node2" || two[part] == "" {
				t.Fatalf("%d partitions: partition %d goes to %q with node2 gone", parts, part, two[part])
			}
			if three[part] != "node2" && two[part] != three[part] {
				moved++
			}
		}
		for n, c := range count {
			if c > (parts+2)/3 || c < parts/3 {
				t.Errorf("%d partitions: %s holds %d (%v)", parts, n, c, count)
			}
		}
		if moved > parts/8 {
			t.Errorf("%d partitions: %d moved between the nodes that stayed", parts, moved)
		}
		t.Logf("%d partitions over three nodes: %v; with one gone, %d others moved", parts, count, moved)
	}
}
