# Every routine task has one short name here; the README lists the same names.
SHELL  := /bin/bash
GO     ?= go
ADDR   ?= 127.0.0.1:8787
VENV   := .venv/bin
BUILD  := build
SERVER := $(BUILD)/bin/streamdemo

.PHONY: clients-setup clienttest postgres-setup netns-setup help check setup model-setup live-cost model-start model-stop doctor hooks test vet gotest fuzz nbtest browser-setup browsertest bench gateway-bench load demo lab serve ask practice-up practice-down clean classroom classroom-down classroom-status classroom-bench classroom-remove classroom-handout classroomtest pebble-setup classroom-frontdoor-bench classroom-service systemd-setup systemd-container-setup classroom-systemd-bench classroom-model classroom-model-stop

help: ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

setup: ## install the GoNB kernel, its tools and JupyterLab (pinned; skips what is there)
	@bash kernel-setup/install.sh

model-setup: ## install the local model: Ollama v0.6.5 and SmolLM2-135M-Instruct (pinned; skips what is there)
	@bash kernel-setup/model.sh

model-start: ## install the local model if needed, then start its server on 127.0.0.1:11434 (data in .tools/, log in build/)
	@bash kernel-setup/model.sh --start

model-stop: ## stop the local model server that model-start started
	@bash kernel-setup/model-server.sh stop

doctor: ## say, for each piece of the set-up, ready or what is missing
	@bash kernel-setup/doctor.sh

hooks: ## refuse commits of notebooks whose outputs hold a key or a machine path
	git config core.hooksPath kernel-setup/hooks

check: vet ## the quick loop: gofmt, go vet and go test -short ./... (installs nothing)
	$(GO) test -short -count=1 ./...

test: setup vet gotest fuzz clienttest nbtest browsertest classroomtest ## install what is missing, then run every test

vet:
	@test -z "$$(gofmt -l cmd internal pkg)" || { echo "gofmt needed on:"; gofmt -l cmd internal pkg; exit 1; }
	$(GO) vet ./...

gotest: postgres-setup netns-setup ## every Go test, under the race detector (which needs cgo: gcc); the gateway's on both ledgers, its tests across hosts once
	@command -v gcc >/dev/null || { echo "go test -race needs cgo: install gcc (Debian: apt-get install -y gcc), then run it again."; exit 1; }
	$(GO) test -race -count=1 -skip=AcrossHosts ./...
	STREAMDEMO_TEST_LEDGER=postgres $(GO) test -race -count=1 ./internal/gateway/ ./internal/ledger/

postgres-setup: ## PostgreSQL's server for the gateway's ledger tests (Debian's postgresql package, if missing)
	@command -v postgres >/dev/null || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; } || { echo "The gateway's tests need PostgreSQL's server: install it (Debian: apt-get install -y postgresql), then run them again."; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

netns-setup: ## ip, for the gateway's tests across hosts in network namespaces (Debian's iproute2, if missing)
	@command -v ip >/dev/null || { \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; } || { echo "The gateway's tests across hosts need ip: install it (Debian: apt-get install -y iproute2), then run them again."; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }

# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with a bare
# "context deadline exceeded" when -fuzztime's clock ends under load (golang/go#75804).
FUZZTIME ?= 100000x
fuzz: ## fuzz the event decoders, the stream reader, the gateway's parsers of untrusted input and its chat-to-Agent API translation, $(FUZZTIME) each
	$(GO) test -run='^$$' -fuzz=FuzzDecodeChat -fuzztime=$(FUZZTIME) ./pkg/streamdemo
	$(GO) test -run='^$$' -fuzz=FuzzDecodeAgent -fuzztime=$(FUZZTIME) ./pkg/streamdemo
	$(GO) test -run='^$$' -fuzz=FuzzStream -fuzztime=$(FUZZTIME) ./pkg/streamdemo
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./internal/meter
	$(GO) test -run='^$$' -fuzz=FuzzScanIsDecoding -fuzztime=$(FUZZTIME) ./internal/meter
	$(GO) test -run='^$$' -fuzz=FuzzBearer -fuzztime=$(FUZZTIME) ./internal/gateway
	$(GO) test -run='^$$' -fuzz=FuzzSessionCookie -fuzztime=$(FUZZTIME) ./internal/gateway
	$(GO) test -run='^$$' -fuzz=FuzzRequest -fuzztime=$(FUZZTIME) ./internal/agentchat
	$(GO) test -run='^$$' -fuzz=FuzzReplyEvent -fuzztime=$(FUZZTIME) ./internal/agentchat

bench: setup model-start ## the Go lesson against the Python seed (docs/benchmarks.md), and the Go benchmarks
	$(GO) test -run='^$$' -bench=. ./pkg/streamdemo/...
	$(GO) test -run='^$$' -bench=Gateway -benchtime=3x ./internal/gateway
	$(VENV)/python bench/run.py $(BENCH_ARGS)

live-cost: setup ## measure what streamdemo.Show sends per answer byte through a real kernel (docs/live-display.md)
	$(VENV)/python lesson-harness/live_cost.py --out docs/live-display.md

gateway-bench: postgres-setup ## the class gateway as of commit dbe4724 (built once into build/gateway-bench/) beside this checkout's, as processes on SQLite and PostgreSQL: first byte, per chunk, 1,000 students at once; chat completions translated to the Agent API beside the Agent API: added delay per chunk and to the first chunk; then the work per chunk, translated or not (docs/classroom/explanation-figures.md)
	$(GO) test -run='^$$' -bench='BeforeAndAfter|GatewayChatOverAgentAPI' -benchtime=3x -timeout=40m ./internal/gateway
	$(GO) test -run='^$$' -bench='Filter|CountOutput' -benchmem ./internal/meter
	$(GO) test -run='^$$' -bench=. -benchtime=2000x ./internal/agentchat

load: ## 200 concurrent streams through the practice server: time to first chunk, peak memory
	$(GO) test -count=1 -run=TestClassroomLoad -v ./cmd/streamdemo | grep -E '^(classroom|ok|FAIL|---)'

clients-setup: ## the chat-completions clients students use (openai, perplexityai, langchain-openai, llm, litellm), each in its own venv under .tools/clients (pinned by hash; skips what is there)
	@python3 lesson-harness/clients/install.py

clienttest: setup clients-setup ## those clients against a real class gateway whose upstream answers only the Agent API: streams, refusals, charges
	$(VENV)/pytest -q lesson-harness/clients

nbtest: setup model-setup ## run every notebook with the GoNB kernel and check its output
	$(VENV)/pytest -q lesson-harness/tests

browser-setup: ## install Debian's chromium for the browser tests
	@bash kernel-setup/browser.sh

browsertest: setup browser-setup ## drive the lesson in JupyterLab in headless chromium (screenshots in build/screenshots)
	$(VENV)/pytest -q lesson-harness/browser

demo: setup model-start ## run the lesson notebook headless, streaming its answer here (local model without a key)
	@$(VENV)/python lesson-harness/run.py notebooks/01-streaming-chat-completion.ipynb \
		--out $(BUILD)/executed/01-streaming-chat-completion.ipynb --kernel-log $(BUILD)/kernel.log

lab: setup model-start ## open JupyterLab on notebooks/ with the Go (gonb) kernel
	$(VENV)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks

serve: ## run the practice server on $(ADDR) in the foreground
	$(GO) run ./cmd/streamdemo serve --addr $(ADDR)

ask: ## ask the seed's question from the terminal (provider from .env, else local/practice)
	$(GO) run ./cmd/streamdemo ask "How many stars are in the universe?"

practice-up: ## start the practice server in the background, unless something answers on $(ADDR)
	@if (exec 3<>/dev/tcp/$(subst :,/,$(ADDR))) 2>/dev/null; then echo "==> practice server: something already answers on $(ADDR)"; \
	else mkdir -p $(BUILD)/bin && $(GO) build -o $(SERVER) ./cmd/streamdemo && \
		(nohup $(SERVER) serve --addr $(ADDR) >$(BUILD)/practice-server.log 2>&1 & echo $$! >$(BUILD)/practice-server.pid) && \
		for i in $$(seq 50); do (exec 3<>/dev/tcp/$(subst :,/,$(ADDR))) 2>/dev/null && break; sleep 0.1; done && \
		echo "==> practice server started on $(ADDR) (log: $(BUILD)/practice-server.log; stop: make practice-down)"; fi

practice-down: ## stop the practice server that practice-up started
	@if [ -f $(BUILD)/practice-server.pid ]; then kill $$(cat $(BUILD)/practice-server.pid) 2>/dev/null || true; rm -f $(BUILD)/practice-server.pid; echo "==> practice server stopped"; fi

# The classroom: JupyterHub on this machine, every student with the Go kernel and the lesson,
# the gateway as hub service "llm" (classroom/; a teacher's tutorial in docs/classroom.md, every command in
# docs/classroom/reference.md). Variables: ROSTER, UPSTREAM_URL,
# UPSTREAM_KEY_FILE, CLASSROOM_PORT, SOLUTIONS (withhold|include), IDLE_TIMEOUT (seconds), JUPYTER_AI (on|off),
# SPAWNER (auto|systemd|local), STUDENT_MEMORY, STUDENT_TASKS, STUDENT_CPU_WEIGHT, STUDENTS_MEMORY, STUDENTS_TASKS;
# every one in docs/classroom-config.md. A teacher target writes those given on make's command line into the class's
# configuration (python3 -m classroom config), then runs the class's program (python3 -m classroom COMMAND).
CLASSROOM_GIVEN = $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))
classroom_cmd = python3 -m classroom config set --from-make $(strip $(CLASSROOM_GIVEN)) && python3 -m classroom $(1)
classroom: ## start a class (installs what is missing); prints its URL and where the teacher's credentials are
	@$(call classroom_cmd,up)

classroom-model: ## the class's local model (root): Ollama in a network namespace of its own behind a socket only the gateway opens, as many parallel slots as this machine has
	@bash kernel-setup/model.sh && python3 classroom/model.py start

classroom-model-stop: ## stop the class's local model
	@python3 classroom/model.py stop

classroom-down: ## stop every process the class started (accounts, notebooks and ledger stay)
	@$(call classroom_cmd,down)

classroom-service: ## systemd units for the class (hub, its services; enabled at boot) where systemd runs the machine (DESTDIR=DIR: write them there)
	@$(call classroom_cmd,service)

classroom-handout: ## a printable page, one card per student: the class's address, login and password (CLASS_URL=...)
	@$(call classroom_cmd,handout)

classroom-status: ## say what of the class runs
	@$(call classroom_cmd,status)

classroom-remove: ## end of course: delete the class's accounts, homes, passwords and ledger (needs CONFIRM=yes)
	@$(call classroom_cmd,remove)

pebble-setup: ## Let's Encrypt's test ACME CA for the front door's tests (pinned by classroom/tests/pebble/go.mod)
	@python3 -m classroom gotool .tools/bin/pebble classroom/tests/pebble github.com/letsencrypt/pebble/v2/cmd/pebble

classroom-bench: setup model-setup ## spawn times, memory, first-cell times, gateway overhead, concurrent streams; students streaming at once on the local model (BENCH_PARTS)
	$(VENV)/python classroom/bench/run.py

systemd-setup: ## systemd-analyze, which checks the class's units (Debian's systemd package, if missing)
	@command -v systemd-analyze >/dev/null || { \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; } || { echo "The classroom's unit tests need systemd-analyze: install it (Debian: apt-get install -y systemd), then run them again."; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; }

systemd-container-setup: systemd-setup ## systemd-nspawn (Debian's systemd-container, at systemd's version) and a hub with SystemdSpawner, for the tests on a booted systemd (pinned; skips what is there)
	@python3 classroom/tests/systemd_setup.py

classroom-systemd-bench: systemd-container-setup ## a systemd container's boot, reboot and power-off; a hub with SystemdSpawner in it: spawn, back after kill -9, after a reboot (docs/notes-systemd.md)
	@python3 classroom/bench/systemd.py

classroom-frontdoor-bench: setup ## first chunk and gap between chunks through the HTTPS front door against loopback (docs/classroom/explanation-figures.md)
	$(VENV)/python classroom/bench/frontdoor.py

classroomtest: setup browser-setup model-setup pebble-setup systemd-setup postgres-setup clients-setup ## a class of three through the real hub, proxy, spawner and gateway
	$(VENV)/pytest -q --durations=15 classroom/tests

clean: practice-down ## remove build output (keeps .tools and .venv)
	rm -rf $(BUILD)

# The Kubernetes files' offline checks (classroom/tests/test_k8s.py, docs/classroom/explanation-tests.md).
.PHONY: kubernetes-setup
kubernetes-setup: ## what the Kubernetes checks need: the chart's JupyterHub in build/k8s-hub-venv, k8s.io/api (pinned; skips what is there)
	@bash classroom/k8s/check/setup.sh
classroomtest: kubernetes-setup
classroomtest: systemd-container-setup
