#!/bin/bash
# run.sh of the runner stand-in: as GitHub's, it starts the listener from this folder.
cd "$(dirname "$0")" || exit 1
exec ./externals/node24/bin/node ./bin/runner-standin.mjs run "$@"
