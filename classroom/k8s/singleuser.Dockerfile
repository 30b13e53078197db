# The student's server for Zero to JupyterHub: JupyterLab, the GoNB kernel (started through
# gonb-supervisor), goimports, gopls, Go, a read-only module cache and a warmed build cache.
# Build from the repository root:
#   docker build -f classroom/k8s/singleuser.Dockerfile -t registry.example.org/streamdemo/singleuser:0.1.0 .
FROM quay.io/jupyter/base-notebook:2026-06-01

USER root
ARG GO_VERSION=1.26.8
ADD https://go.dev/dl/go${GO_VERSION}.linux-amd64.tar.gz /tmp/go.tgz
RUN tar -C /usr/local -xzf /tmp/go.tgz && rm /tmp/go.tgz && apt-get update \
 && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/local/go/bin:/opt/streamdemo/bin:$PATH \
    GOMODCACHE=/opt/streamdemo/go/mod \
    GOTOOLCHAIN=local

COPY . /opt/streamdemo/src
WORKDIR /opt/streamdemo/src
# Tools pinned by kernel-setup/tools and kernel-setup/gopls; modules into the shared, read-only cache.
RUN mkdir -p /opt/streamdemo/bin \
 && (cd kernel-setup/tools && GOFLAGS=-mod=readonly go build -o /opt/streamdemo/bin/gonb github.com/janpfeifer/gonb \
     && GOFLAGS=-mod=readonly go build -o /opt/streamdemo/bin/goimports golang.org/x/tools/cmd/goimports) \
 && (cd kernel-setup/gopls && GOFLAGS=-mod=readonly go build -o /opt/streamdemo/bin/gopls golang.org/x/tools/gopls) \
 && go mod download all \
 && pip install --no-cache-dir --no-deps -r classroom/requirements.lock \
 && mkdir -p /opt/streamdemo/bin/supervisor \
 && install -m 755 kernel-setup/supervisor/gonb-supervisor /opt/streamdemo/bin/supervisor/ \
 && ln -sf gonb-supervisor /opt/streamdemo/bin/supervisor/gopls
# The kernelspec, installed once for all users; argv[0] is the supervisor so no gopls outlives its kernel.
RUN gonb --install --force_deps && KDIR=$(jupyter kernelspec list --json | python3 -c \
      'import json,sys; print(json.load(sys.stdin)["kernelspecs"]["gonb"]["resource_dir"])') \
 && python3 - "$KDIR/kernel.json" <<'PY'
import json, sys
p = sys.argv[1]; spec = json.load(open(p))
spec["argv"] = ["/opt/streamdemo/bin/supervisor/gonb-supervisor", "/opt/streamdemo/bin/gonb"] + spec["argv"][spec["argv"].index("--kernel"):]
spec["env"] = {"PATH": "/opt/streamdemo/bin:/usr/local/go/bin:${PATH}"}
json.dump(spec, open(p, "w"), indent=1)
PY
# Warm a build cache the way the lesson's first cells fill it; each student's GOCACHE starts as a copy.
RUN GOCACHE=/opt/streamdemo/go/build-seed GOPROXY=off GOSUMDB=off GOFLAGS=-mod=mod \
    python3 classroom/warm.py notebooks/01-streaming-chat-completion.ipynb \
 && chmod -R a+rX /opt/streamdemo
COPY --chmod=755 <<'EOF2' /usr/local/bin/before-notebook.d/10-go-cache.sh
#!/bin/sh
[ -d "$HOME/.cache/go-build" ] || { mkdir -p "$HOME/.cache" && cp -r /opt/streamdemo/go/build-seed "$HOME/.cache/go-build"; }
EOF2

USER ${NB_UID}
WORKDIR /home/${NB_USER}
