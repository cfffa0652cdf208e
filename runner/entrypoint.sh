#!/usr/bin/env bash
# octorun's runner entrypoint: starts the GitHub Actions runner inside a runner Pod.
#
# JIT mode (octorun's default): the controller put the runner's just-in-time configuration in the
# Pod's Secret (key `jitconfig`); the runner starts from it with no token and no config.sh step,
# and GitHub removes the ephemeral registration after the job.
#
# Registration-token mode (the original octorun's, for GitHub servers without JIT): config.sh
# registers an ephemeral runner with the token from the Secret (key `token`), run.sh runs it; on
# SIGTERM/SIGINT the runner is stopped and its registration removed, retried until it succeeds
# (the controller renews the token before it deletes the Pod).
#
# Environment (runner-pod.md): URL, RUNNER_NAME, RUNNER_LABELS, RUNNER_GROUP, RUNNER_WORKDIR,
# RUNNER_TOKEN_FILE or RUNNER_TOKEN; RUNNER_JITCONFIG_FILE or RUNNER_JITCONFIG. Defaults read the
# Secret where the controller mounts it.
set -Eeuo pipefail

readonly secret_dir="${RUNNER_SECRET_DIR:-/var/run/secrets/runner.octorun.github.io/registration-token}"
readonly runner_home="${RUNNER_HOME:-/home/runner}"
readonly jitconfig_file="${RUNNER_JITCONFIG_FILE:-${secret_dir}/jitconfig}"
readonly token_file="${RUNNER_TOKEN_FILE:-${secret_dir}/token}"
readonly remove_retry_seconds="${RUNNER_REMOVE_RETRY_SECONDS:-30}"

runner_pid=""
stopping=""

log() {
  printf '%s octorun-runner: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

# The token, read afresh each time: the controller may have replaced it in the Secret.
read_token() {
  if [[ -n "${RUNNER_TOKEN:-}" ]]; then
    printf '%s' "${RUNNER_TOKEN}"
  elif [[ -s "${token_file}" ]]; then
    tr -d '\r\n' <"${token_file}"
  else
    return 1
  fi
}

# shellcheck disable=SC2317 # invoked by the trap below
on_signal() {
  stopping="yes"
  if [[ -n "${runner_pid}" ]] && kill -0 "${runner_pid}" 2>/dev/null; then
    log "stopping the runner"
    kill -TERM "${runner_pid}" 2>/dev/null || true
  fi
}

# Waits for the runner process; a trapped signal interrupts `wait`, so wait again until it is gone.
wait_runner() {
  local status=0
  while :; do
    wait "${runner_pid}" && status=0 || status=$?
    kill -0 "${runner_pid}" 2>/dev/null || break
  done
  return "${status}"
}

remove_registration() {
  local token
  until token="$(read_token)" &&
    ./config.sh remove --unattended --token "${token}"; do
    log "removing the runner registration failed; retrying in ${remove_retry_seconds}s"
    sleep "${remove_retry_seconds}"
  done
  log "runner registration removed"
}

cd "${runner_home}" || die "RUNNER_HOME ${runner_home} is not a directory"
[[ -x ./run.sh ]] || die "no run.sh in ${runner_home}: this is not a GitHub Actions runner image"
trap on_signal TERM INT

jitconfig="${RUNNER_JITCONFIG:-}"
unset RUNNER_JITCONFIG RUNNER_TOKEN
if [[ -z "${jitconfig}" && -s "${jitconfig_file}" ]]; then
  jitconfig="$(tr -d '\r\n' <"${jitconfig_file}")"
fi

if [[ -n "${jitconfig}" ]]; then
  log "starting runner ${RUNNER_NAME:-} from its JIT configuration"
  # The runner reads `--jitconfig` from this variable (as GitHub's own scale sets start it), which
  # keeps the configuration out of the process list.
  ACTIONS_RUNNER_INPUT_JITCONFIG="${jitconfig}" ./run.sh &
  runner_pid=$!
  unset jitconfig
  status=0
  wait_runner || status=$?
  log "runner exited with status ${status}"
  exit "${status}"
fi

[[ -n "${URL:-}" ]] || die "URL is not set (the repository, organization or enterprise URL)"
[[ -n "${RUNNER_NAME:-}" ]] || die "RUNNER_NAME is not set"
token="$(read_token)" ||
  die "neither a JIT configuration (${jitconfig_file}) nor a registration token (${token_file}, or RUNNER_TOKEN) was given"

log "registering runner ${RUNNER_NAME} with ${URL}"
./config.sh --unattended \
  --url "${URL}" \
  --name "${RUNNER_NAME}" \
  --token "${token}" \
  --labels "${RUNNER_LABELS:-}" \
  --runnergroup "${RUNNER_GROUP:-Default}" \
  --work "${RUNNER_WORKDIR:-_work}" \
  --replace \
  --ephemeral
unset token

if [[ -n "${stopping}" ]]; then
  remove_registration
  exit 0
fi

./run.sh &
runner_pid=$!
status=0
wait_runner || status=$?
log "runner exited with status ${status}"
if [[ -n "${stopping}" ]]; then
  remove_registration
  exit 0
fi
exit "${status}"
