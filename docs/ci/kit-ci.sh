#!/bin/sh
# kit's CI step, shared by the GitHub Actions, GitLab CI and Codeship
# recipes next to this file. Copy it into your repository.
#
# On a pull/merge request ("review"): render every cluster with --redact into
# a review artifact, then `kit diff` every cluster (exit 1, "differences", is
# what a change looks like and is not a failure).
# On the main branch ("deploy"): `kit apply` every cluster (server-side apply, kit's default).
# Anything else: nothing.
#
# Environment:
#   KIT_PROJECT          project directory (default: .)
#   KIT_CI_MODE          review | deploy | skip; default: from the CI system
#                        (GITHUB_EVENT_NAME/GITHUB_REF_NAME, CI_PIPELINE_SOURCE/
#                        CI_COMMIT_BRANCH, CI_PULL_REQUEST/CI_BRANCH for Codeship)
#   KIT_MAIN_BRANCH      the branch that deploys (default: main)
#   KIT_REVIEW_ARTIFACT  where the redacted render goes (default: kit-review.yaml)
#   KIT_REDACT_KEY       a stable key makes fingerprints comparable across runs
#   KIT_KUBECTL, AWS_*   as for kit itself
set -eu
project=${KIT_PROJECT:-.}
main=${KIT_MAIN_BRANCH:-main}
artifact=${KIT_REVIEW_ARTIFACT:-kit-review.yaml}

mode=${KIT_CI_MODE:-}
if [ -z "$mode" ]; then
    if [ "${GITHUB_EVENT_NAME:-}" = pull_request ] || [ "${CI_PIPELINE_SOURCE:-}" = merge_request_event ] \
        || { [ -n "${CI_PULL_REQUEST:-}" ] && [ "${CI_PULL_REQUEST:-false}" != false ]; }; then
        mode=review
    elif [ "${GITHUB_REF_NAME:-${CI_COMMIT_BRANCH:-${CI_BRANCH:-}}}" = "$main" ]; then
        mode=deploy
    else
        mode=skip
    fi
fi

case "$mode" in
    review)
        kit render -C "$project" --all --redact > "$artifact"
        echo "kit-ci: review artifact written to $artifact"
        set +e
        kit diff -C "$project" --all --keep-going
        rc=$?
        set -e
        if [ "$rc" -gt 1 ]; then exit "$rc"; fi
        ;;
    deploy)
        kit apply -C "$project" --all
        ;;
    skip)
        echo "kit-ci: not a pull request and not $main: nothing to do"
        ;;
    *)
        echo "kit-ci: unknown KIT_CI_MODE '$mode' (review, deploy or skip)" >&2
        exit 2
        ;;
esac
