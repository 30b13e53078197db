# The folders the kernel-setup scripts work in; sourced by them:
#   source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) # kernel-setup/
REPO=$(cd "$HERE/.." && pwd)
BIN="$REPO/.tools/bin" # the pinned tools
VENV="$REPO/.venv"     # the Jupyter virtualenv
