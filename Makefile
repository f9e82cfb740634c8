# aperture — one binary. `make run` serves with data in ./data; `make test`
# runs everything CI runs.

SHELL    := /bin/bash
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN      := bin/aperture

.PHONY: all announce build run test vet fmt fmt-check unit race partitions long fuzz bench bench-flows bench-partitions bench-cluster bench-search bench-media bench-ui soak screenshots clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/aperture

# run serves with ./data; on the first run it seeds a small demo community
# (40 accounts, 120 posts of generated photos; every password is
# aperture-demo) so there is something to look at.
run: announce build
	@if [ ! -e ./data/aperture.db ]; then echo "seeding a demo community in ./data (once)"; ./$(BIN) seed --data ./data --users 40 --posts 120; fi
	./$(BIN) serve --data ./data

# announce says why the first `make run` is quiet for a while.
announce:
	@if [ ! -x $(BIN) ]; then echo "building aperture: the first build downloads and compiles its modules (a minute or two on 2 cores)"; fi

# test is the whole suite: formatting, vet, unit, integration and
# end-to-end tests (with the race detector), the memory tests (without it:
# it multiplies memory), and a short fuzz of every parser of untrusted bytes.
test: fmt-check vet promtool race partitions long fuzz

vet:
	$(GO) vet ./...

# promtool checks the Prometheus alerting rules in deploy/prometheus and
# runs their unit tests (alerts_test.yml). promtool comes with Debian's
# prometheus package; without it this target fails rather than skip.
.PHONY: promtool
promtool:
	@command -v promtool >/dev/null 2>&1 || { echo "promtool is not installed: install Debian's prometheus package (apt-get install prometheus), which ships it"; exit 1; }
	promtool check rules deploy/prometheus/alerts.yml
	cd deploy/prometheus && promtool test rules alerts_test.yml

fmt:
	gofmt -w .

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -count=1 ./...

race:
	$(GO) test -race -short -count=1 -timeout 15m ./...

# partitions runs the suite again on data directories of four partitions
# (each its own bbolt file and committer): every answer must be the same
# as with one, and a command that reaches into another partition fails.
# Then the crash test, whose fan-out crosses partitions.
partitions:
	APERTURE_TEST_PARTITIONS=4 $(GO) test -short -count=1 -timeout 15m ./...
	APERTURE_TEST_PARTITIONS=4 $(GO) test -count=1 -run 'Crash' ./cmd/aperture/

# long runs the tests that -short skips above: peak RSS (the race detector
# multiplies memory), the SIGKILL-during-fan-out crash test, and the
# cluster's failover (kill -9 and SIGTERM under load, linearizability)
# and fencing (a paused owner) tests on three real nodes.
long:
	$(GO) test -count=1 -timeout 20m -run 'RSS|Crash|AtScale|DeliveryFlow|DecodeEstimates|ClusterFailover|ClusterFencing' -v ./media/ ./cmd/aperture/ | grep -E '^(---|ok|FAIL|PASS)|RSS|upload|crash|streams|deliveries|peak heap|_test.go:[0-9]+:'; exit $${PIPESTATUS[0]}

# Each fuzz target runs for FUZZTIME; list them as package:Target. Go's
# fuzzing engine can stop with "context deadline exceeded" and no failing
# input when the machine is busy; that run is repeated once. A real failure
# (a failing input) fails at once.
FUZZTIME    ?= 10s
FUZZTARGETS := ./web:FuzzRichText ./web:FuzzLocalPath ./web/auth:FuzzParse ./store:FuzzParseID ./media:FuzzDecode ./media:FuzzEXIF
fuzz:
	@set -e; for t in $(FUZZTARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  out=$$($(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) && { echo "$$out" | tail -2; continue; }; \
	  echo "$$out"; \
	  if echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input'; then \
	    echo "fuzz: the engine timed out on a busy machine (no failing input); running $$fn once more"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  else exit 1; fi; \
	done

# screenshots saves full-page screenshots of the main pages at phone and
# desktop widths into docs/screenshots, from a freshly seeded demo
# instance (needs Chromium).
SHOTDATA ?= /tmp/aperture-shots
screenshots: build
	rm -rf $(SHOTDATA)
	./$(BIN) seed --data $(SHOTDATA) --users 24 --posts 90 --seed 7 >/dev/null
	@./$(BIN) serve --data $(SHOTDATA) --addr 127.0.0.1:18282 --log-level warn & pid=$$!; sleep 2; \
	  $(GO) run ./cmd/screenshots -base http://127.0.0.1:18282 -out docs/screenshots; rc=$$?; \
	  kill $$pid; wait $$pid; exit $$rc

# bench-ui: JS + CSS bytes compressed, and the time from navigation to the
# first photo painted in headless Chromium on a seeded demo instance.
bench-ui: build
	$(GO) test -count=1 -run '^TestAssetBudget$$' -v ./web/ | grep -E 'bytes|ok|FAIL'
	rm -rf $(SHOTDATA)
	./$(BIN) seed --data $(SHOTDATA) --users 24 --posts 90 --seed 7 >/dev/null
	@./$(BIN) serve --data $(SHOTDATA) --addr 127.0.0.1:18282 --log-level warn & pid=$$!; sleep 2; \
	  $(GO) run ./cmd/screenshots -base http://127.0.0.1:18282 -paint 21; rc=$$?; \
	  kill $$pid; wait $$pid; exit $$rc

# soak: SOAKTIME (10 minutes) of mixed load at SOAKRATE requests/s (250) — 80% feed and profile reads,
# 10% likes, 5% comments, 5% posts with a photo — on the bench-flows
# dataset, printing errors, p99, RSS and outbox depth each minute; then
# the backup speed and the restore time of that dataset.
SOAKTIME ?= 10m
SOAKRATE ?= 250
soak: build
	$(GO) build -o bin/loadgen ./cmd/loadgen
	@if [ ! -e $(BENCHDATA)/aperture.db ]; then ./$(BIN) seed --data $(BENCHDATA) --users 10000 --posts 1000000 --no-images; fi
	@./$(BIN) serve --data $(BENCHDATA) --addr 127.0.0.1:18181 --log-level warn --rate-posts off --rate-comments off \
	    --rate-likes off --rate-uploads off --rate-reads off & pid=$$!; \
	  ./bin/loadgen -addr 127.0.0.1:18181 -conns 32 -soak $(SOAKTIME) -rate $(SOAKRATE) -pid $$pid; status=$$?; \
	  ./$(BIN) backup --data $(BENCHDATA) --out $(BENCHDATA).backup.tar || status=1; \
	  kill $$pid; wait $$pid; \
	  rm -rf $(BENCHDATA)-restored; /usr/bin/time -f 'restore took %e s' ./$(BIN) restore $(BENCHDATA).backup.tar --data $(BENCHDATA)-restored || status=1; \
	  rm -rf $(BENCHDATA)-restored $(BENCHDATA).backup.tar; exit $$status

# bench runs the unit benchmarks (3 runs each) and then the whole flows
# over loopback (bench-flows). Numbers go into docs/BENCHMARKS.md.
BENCHTIME ?= 2s
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -count 3 ./...
	$(MAKE) bench-flows bench-ui

# bench-media: one 12 MP camera-like JPEG through the whole pipeline on one
# core and on both, with libvips (vipsthumbnail, Debian libvips-tools) timed
# in the same run when installed, and the peak RSS of one worker.
bench-media:
	$(GO) test -count=1 -run '^TestRSS' -v ./media/ | grep -E 'RSS|upload'
	$(GO) test -run '^$$' -bench '12MP' -benchtime 8x -count 3 -cpu 1,2 ./media/

# bench-flows: the home feed against the HTTP ceiling over loopback on a
# 10,000-account / 1,000,000-post dataset (seeded once, a few minutes).
BENCHDATA ?= /tmp/aperture-bench
bench-flows: build
	$(GO) build -o bin/loadgen ./cmd/loadgen
	@if [ ! -e $(BENCHDATA)/aperture.db ]; then ./$(BIN) seed --data $(BENCHDATA) --users 10000 --posts 1000000 --no-images; fi
	@./$(BIN) serve --data $(BENCHDATA) --addr 127.0.0.1:18181 --log-level warn --rate-reads off --rate-posts off --rate-uploads off & pid=$$!; \
	  ./bin/loadgen -addr 127.0.0.1:18181 -conns 64 -duration 5s -rounds 3 -posts 8000; status=$$?; kill $$pid; wait $$pid; exit $$status
	$(GO) test -run '^$$' -bench 'CreatePost|Fanout|BenchmarkFeed' -benchtime 3s ./store/ ./feed/ ./web/

# bench-partitions: the whole flows on a data directory of one partition
# and on one of four, seeded alike (10,000 accounts, 1,000,000 posts,
# --no-images, seed 1) into $(BENCHDATA)-p1 and $(BENCHDATA)-p4, each once
# (with its search index built, so that the server is ready at once).
# The server runs on each in turn, PARTRUNS times, with the same load
# (PARTLOAD: home-feed rounds against the ceilings, post creation, then
# follows and their undoing, each drained); then the store's and the feed's
# post creation and fan-out benchmarks with each partition count in turn.
# Every run's output is kept in PARTOUT, and the figures are printed
# side by side at the end. The server is stopped by its PID, also when the
# target fails or is interrupted.
PARTRUNS ?= 2
PARTLOAD ?= -conns 64 -duration 5s -rounds 3 -posts 8000 -follows 4000
PARTOUT  ?= /tmp/aperture-bench-partitions
PARTADDR ?= 127.0.0.1:18183
bench-partitions: build
	$(GO) build -o bin/loadgen ./cmd/loadgen
	@for p in 1 4; do d=$(BENCHDATA)-p$$p; [ -e $$d/aperture.db ] && continue; rm -rf $$d.part; \
	  ./$(BIN) seed --data $$d.part --partitions $$p --users 10000 --posts 1000000 --no-images && \
	  { ./$(BIN) reindex --data $$d.part | tail -1; [ $${PIPESTATUS[0]} = 0 ]; } && mv $$d.part $$d || exit 1; done
	@rm -rf $(PARTOUT); mkdir -p $(PARTOUT); status=0; pid=; \
	trap '[ -n "$$pid" ] && kill -9 $$pid 2>/dev/null; true' EXIT; trap 'exit 1' INT TERM HUP; \
	for r in $$(seq $(PARTRUNS)); do for p in 1 4; do \
	  echo "== run $$r, P = $$p"; \
	  ./$(BIN) serve --data $(BENCHDATA)-p$$p --addr $(PARTADDR) --log-level warn --rate-reads off --rate-posts off \
	    --rate-uploads off --rate-follows off & pid=$$!; sleep 1; kill -0 $$pid || exit 1; \
	  ./bin/loadgen -addr $(PARTADDR) $(PARTLOAD) | tee $(PARTOUT)/p$$p-run$$r.txt; [ $${PIPESTATUS[0]} = 0 ] || status=1; \
	  kill $$pid; wait $$pid; pid=; \
	done; done; \
	for r in $$(seq $(PARTRUNS)); do for p in 1 4; do \
	  echo "== benchmarks, run $$r, P = $$p"; \
	  APERTURE_TEST_PARTITIONS=$$p $(GO) test -run '^$$' -bench 'CreatePost|Fanout' -benchtime 3s ./store/ ./feed/ \
	    | tee $(PARTOUT)/bench-p$$p-run$$r.txt | grep -E '^Benchmark|FAIL'; [ $${PIPESTATUS[0]} = 0 ] || status=1; \
	done; done; \
	for m in 'median of' 'home feed' 'create POST' 'last post was created' 'follow POST' 'after the follows' 'unfollow DELETE' \
	    'after the unfollows' 'BenchmarkCreatePost' 'BenchmarkFanout10k' 'BenchmarkFanoutSustained'; do \
	  echo "-- $$m"; for f in $(PARTOUT)/*.txt; do grep -h -- "$$m" $$f | sed "s|^|$$(basename $$f .txt): |"; done; \
	done; exit $$status

# bench-cluster: one node (no cluster, CLUSTERSINGLEPARTS partitions) and
# a three-node cluster on this machine (deploy/cluster/run-local.sh,
# CLUSTERPARTS partitions, JetStream syncing every write), both fresh in
# CLUSTEROUT, rate limits off on every node (by environment, which
# run-local.sh passes on). cmd/loadgen -cluster signs up the same small
# dataset on each through the API (-populate accounts, two posts each,
# eight follows each), then in rounds alternated between the two:
# acknowledged writes (likes, unlikes, comments, profile edits) from
# -conns publishers, each request to the next node, with p50/p99 and the
# ratio; the home feed through each node; then -failovers rounds of
# kill -9 of the node owning the most partitions while -failover-conns
# publishers write on: the time until its partitions take writes again,
# and, after run-local.sh starts it again (with -catchup-conns publishers
# writing meanwhile, none by default), the time until it serves, has
# caught up with the entries it missed, and owns partitions again. Each node is stopped by its PID at the end,
# also on failure; the output is kept in CLUSTEROUT/run.txt.
CLUSTEROUT         ?= /tmp/aperture-bench-cluster
CLUSTERPARTS       ?= 16
CLUSTERSINGLEPARTS ?= 1
CLUSTERLOAD        ?= -conns 64 -duration 10s -rounds 3 -populate 128 -failovers 5 -failover-conns 8
CLUSTERADDR        ?= 127.0.0.1:18184
bench-cluster: build
	$(GO) build -o bin/loadgen ./cmd/loadgen
	@rm -rf $(CLUSTEROUT); mkdir -p $(CLUSTEROUT); \
	export APERTURE=$(CURDIR)/$(BIN) APERTURE_PARTITIONS=$(CLUSTERPARTS) APERTURE_LOG_LEVEL=warn APERTURE_WAIT=600 \
	  APERTURE_AUTH_RATE_IP=100000 APERTURE_AUTH_RATE_USER=100000 APERTURE_RATE_POSTS=off APERTURE_RATE_COMMENTS=off \
	  APERTURE_RATE_LIKES=off APERTURE_RATE_FOLLOWS=off APERTURE_RATE_UPLOADS=off APERTURE_RATE_READS=off; \
	stop() { trap '' INT TERM HUP; for f in $(CLUSTEROUT)/single.pid $(CLUSTEROUT)/nodes/node*/pid; do \
	  [ -f $$f ] && kill -9 $$(cat $$f) 2>/dev/null; rm -f $$f; done; true; }; \
	trap stop EXIT; trap "exit 1" INT TERM HUP; \
	echo "load average at the start: $$(cut -d' ' -f1-3 /proc/loadavg)" | tee $(CLUSTEROUT)/run.txt; \
	./$(BIN) serve --data $(CLUSTEROUT)/single --partitions $(CLUSTERSINGLEPARTS) --addr $(CLUSTERADDR) \
	  >$(CLUSTEROUT)/single.log 2>&1 & echo $$! >$(CLUSTEROUT)/single.pid; disown; \
	deploy/cluster/run-local.sh $(CLUSTEROUT)/nodes | tee -a $(CLUSTEROUT)/run.txt; [ $${PIPESTATUS[0]} = 0 ] || exit 1; \
	./bin/loadgen -cluster $(CLUSTEROUT)/nodes -single $(CLUSTERADDR) $(CLUSTERLOAD) 2>&1 | tee -a $(CLUSTEROUT)/run.txt; \
	status=$${PIPESTATUS[0]}; \
	echo "load average at the end: $$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $(CLUSTEROUT)/run.txt; exit $$status

# bench-search: reindex the bench-flows dataset (timed, docs/s) and query
# latencies on it: hashtag term, two-word match, nearby 10 km, map clusters.
bench-search: build
	@if [ ! -e $(BENCHDATA)/aperture.db ]; then ./$(BIN) seed --data $(BENCHDATA) --users 10000 --posts 1000000 --no-images; fi
	./$(BIN) reindex --data $(BENCHDATA) | tail -1
	APERTURE_BENCH_DATA=$(BENCHDATA) $(GO) test -run '^$$' -bench BenchmarkQueries -benchtime 100x ./search/

clean:
	rm -rf bin
