#!/usr/bin/env bash
# Publishes the teacher's repository (its committed HEAD) to the class's lessons.git, which every
# student server pulls with nbgitpuller at each start: new commits merge into the students'
# copies without overwriting their edits. SOLUTIONS=withhold (the default) leaves the solutions
# notebook out; SOLUTIONS=include publishes it.
#
# lessons.git (world-readable) holds the published commits and nothing else: each is built in
# lessons-build.git, root's alone in the class folder, and only it is pushed to lessons.git, which
# is then pruned of anything else. The teacher's history never leaves the class folder. Withholding the
# solutions again after they were included drops the commits that held them: the new commit's
# parent is the last one published without them, so students' copies still merge.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SOLUTIONS=${SOLUTIONS:-withhold}
WITHHELD=(notebooks/01-solutions.ipynb)
[[ $SOLUTIONS == withhold || $SOLUTIONS == include ]] || die "SOLUTIONS=$SOLUTIONS: use SOLUTIONS=withhold or SOLUTIONS=include"

BUILD=$CLASSROOM_DIR/lessons-build.git
export GIT_AUTHOR_NAME=teacher GIT_AUTHOR_EMAIL=teacher@classroom GIT_COMMITTER_NAME=teacher GIT_COMMITTER_EMAIL=teacher@classroom
b() { git --git-dir="$BUILD" "$@"; }
if [[ ! -d $BUILD ]]; then
  git init -q --bare -b main "$BUILD"
  if git --git-dir="$LESSONS" rev-parse -q --verify refs/heads/main >/dev/null 2>&1; then
    b fetch -q "$LESSONS" +refs/heads/main:refs/heads/main  # a class published before: its commits only
  else  # an empty first commit: whatever is published later always has a base without the solutions
    b update-ref refs/heads/main "$(b commit-tree "$(b mktree </dev/null)" -m "Lessons")"
  fi
fi
chmod 700 "$BUILD"

b fetch -q "$REPO" +HEAD:refs/teacher/head
index=$(mktemp)
trap 'rm -f "$index"' EXIT
GIT_INDEX_FILE=$index b read-tree refs/teacher/head
if [[ $SOLUTIONS == withhold ]]; then
  GIT_INDEX_FILE=$index b rm -q --cached --ignore-unmatch "${WITHHELD[@]}"
fi
tree=$(GIT_INDEX_FILE=$index b write-tree)

# The parent: the published tip, or when withholding, the newest commit below the first that held a
# withheld file (with none ever published, that is the tip).
parent=$(b rev-parse refs/heads/main)
if [[ $SOLUTIONS == withhold ]]; then
  first=$(b log --format=%H --reverse refs/heads/main -- "${WITHHELD[@]}" | sed -n 1p)
  if [[ -n $first ]]; then
    parent=$(b rev-parse -q --verify "$first^" || true)
  fi
fi
if [[ -n $parent && $parent == $(b rev-parse refs/heads/main) && $(b rev-parse "$parent^{tree}") == "$tree" ]]; then
  say "lessons: up to date (solutions: $SOLUTIONS)"
else
  commit=$(b commit-tree "$tree" ${parent:+-p "$parent"} -m "Lesson update from $(git -C "$REPO" rev-parse --short HEAD)")
  b update-ref refs/heads/main "$commit"
  say "lessons: published $(git -C "$REPO" rev-parse --short HEAD) (solutions: $SOLUTIONS); students get it at their next server start"
fi

# lessons.git: the published branch alone; whatever else an older publish left there goes, objects
# included (pruned in place, so a student's pull at that moment sees the old or the new branch).
[[ -d $LESSONS ]] || { mkdir -p "$LESSONS" && git init -q --bare -b main "$LESSONS"; }
l() { git --git-dir="$LESSONS" "$@"; }
if [[ $(l rev-parse -q --verify refs/heads/main || true) != "$(b rev-parse refs/heads/main)" \
  || -n $(l for-each-ref --format='%(refname)' | grep -vx refs/heads/main || true) || -e $LESSONS/FETCH_HEAD ]]; then
  b push -q --force "$LESSONS" refs/heads/main:refs/heads/main
  for ref in $(l for-each-ref --format='%(refname)'); do [[ $ref == refs/heads/main ]] || l update-ref -d "$ref"; done
  rm -f "$LESSONS/FETCH_HEAD" "$LESSONS/ORIG_HEAD"
  l reflog expire --expire=now --all
  l gc -q --prune=now
fi
chmod -R a+rX "$LESSONS"
b gc -q --auto
