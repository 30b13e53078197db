#!/usr/bin/env bash
# Publishes the teacher's repository (its committed HEAD) to the class's lessons.git, which every
# student server pulls with nbgitpuller at each start: new commits merge into the students'
# copies without overwriting their edits. SOLUTIONS=withhold (the default) leaves the solutions
# notebook out; SOLUTIONS=include publishes it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SOLUTIONS=${SOLUTIONS:-withhold}
WITHHELD=(notebooks/01-solutions.ipynb)

[[ -d $LESSONS ]] || { mkdir -p "$LESSONS" && git init -q --bare -b main "$LESSONS"; }
git --git-dir="$LESSONS" fetch -q "$REPO" HEAD
index=$(mktemp)
trap 'rm -f "$index"' EXIT
GIT_INDEX_FILE=$index git --git-dir="$LESSONS" read-tree FETCH_HEAD
if [[ $SOLUTIONS == withhold ]]; then
  GIT_INDEX_FILE=$index git --git-dir="$LESSONS" rm -q --cached --ignore-unmatch "${WITHHELD[@]}"
fi
tree=$(GIT_INDEX_FILE=$index git --git-dir="$LESSONS" write-tree)
parent=$(git --git-dir="$LESSONS" rev-parse -q --verify refs/heads/main || true)
if [[ -n $parent && $(git --git-dir="$LESSONS" rev-parse "$parent^{tree}") == "$tree" ]]; then
  say "lessons: up to date (solutions: $SOLUTIONS)"
else
  commit=$(GIT_AUTHOR_NAME=teacher GIT_AUTHOR_EMAIL=teacher@classroom GIT_COMMITTER_NAME=teacher \
    GIT_COMMITTER_EMAIL=teacher@classroom git --git-dir="$LESSONS" commit-tree "$tree" ${parent:+-p "$parent"} \
    -m "Lesson update from $(git -C "$REPO" rev-parse --short HEAD)")
  git --git-dir="$LESSONS" update-ref refs/heads/main "$commit"
  say "lessons: published $(git -C "$REPO" rev-parse --short HEAD) (solutions: $SOLUTIONS); students get it at their next server start"
fi
chmod -R a+rX "$LESSONS"
