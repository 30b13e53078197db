# The student's server for Zero to JupyterHub: JupyterLab, the GoNB kernel (started through
# gonb-supervisor), goimports, gopls, Go, a read-only module cache and a warmed build cache.
# Build from the repository root:
#   docker build -f classroom/k8s/singleuser.Dockerfile -t registry.example.org/streamdemo/singleuser:0.1.0 .
FROM quay.io/jupyter/base-notebook:2026-06-01

USER root
ARG GO_VERSION=1.26.8
# The JupyterHub of the chart's hub (chart 4.4.0: JupyterHub 5.5.0): jupyterhub-singleuser talks to it.
ARG JUPYTERHUB_VERSION=5.5.0
ADD https://go.dev/dl/go${GO_VERSION}.linux-amd64.tar.gz /tmp/go.tgz
RUN tar -C /usr/local -xzf /tmp/go.tgz && rm /tmp/go.tgz && apt-get update \
 && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/local/go/bin:/opt/streamdemo/bin:$PATH \
    GOMODCACHE=/opt/streamdemo/go/mod \
    GOTOOLCHAIN=local

COPY . /opt/streamdemo/src
WORKDIR /opt/streamdemo/src
# Tools pinned by kernel-setup/tools and kernel-setup/gopls (GoNB with kernel-setup/gonb-patches, which
# the kernelspec's flags need); modules into the shared, read-only cache.
RUN mkdir -p /opt/streamdemo/bin \
 && bash kernel-setup/gonb-build.sh /opt/streamdemo/bin/gonb \
 && (cd kernel-setup/tools && GOFLAGS=-mod=readonly go build -o /opt/streamdemo/bin/goimports golang.org/x/tools/cmd/goimports) \
 && (cd kernel-setup/gopls && GOFLAGS=-mod=readonly go build -o /opt/streamdemo/bin/gopls golang.org/x/tools/gopls) \
 && go mod download all \
 && grep -v '^jupyterhub==' classroom/requirements.lock >/tmp/singleuser.lock \
 && echo "jupyterhub==${JUPYTERHUB_VERSION}" >>/tmp/singleuser.lock \
 && pip install --no-cache-dir --no-deps -r /tmp/singleuser.lock && pip check && rm /tmp/singleuser.lock \
 && mkdir -p /opt/streamdemo/bin/supervisor \
 && install -m 755 kernel-setup/supervisor/gonb-supervisor /opt/streamdemo/bin/supervisor/ \
 && ln -sf gonb-supervisor /opt/streamdemo/bin/supervisor/gopls
# The kernelspec, once for all users, in a system folder Jupyter searches: the student's volume is
# mounted on /home/jovyan and would hide one installed there. kernel.json is made by install.sh's own
# kernel_json (argv[0] the supervisor, so no gopls outlives its kernel; the cell build flags).
ENV KERNELS=/usr/local/share/jupyter/kernels
RUN JUPYTER_DATA_DIR=/usr/local/share/jupyter gonb --install \
 && rm -f "$KERNELS/gonb/gonb" "$KERNELS/gonb/gonb~" \
 && eval "$(sed -n '/^kernel_json() {/,/^}/p' kernel-setup/install.sh)" \
 && export VENV=/opt/conda KDIR="$KERNELS/gonb" HERE=/opt/streamdemo/bin BIN=/opt/streamdemo/bin GODIR=/usr/local/go/bin \
 && kernel_json fix && kernel_json check
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
