#!/bin/bash
# config.sh of the runner stand-in: `config.sh --unattended --url … --token …` and `config.sh remove --token …`.
cd "$(dirname "$0")" || exit 1
exec ./externals/node24/bin/node ./bin/runner-standin.mjs config "$@"
