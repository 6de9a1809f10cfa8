#!/bin/sh
# kit's preview step: one instance of an environment of instances per pull
# (merge) request, shared by preview-github-actions.yml and
# preview-gitlab-ci.yml next to this file. Copy it into your repository.
#
# "up" (a pull request opened or updated): `kit apply -e $ENV --instance
# $INSTANCE`, with the images of $KIT_IMAGE (`web=registry/shop/web:pr-7-abc`,
# comma-separated) and the released images for the other services; kit
# creates the instance's namespaces and prints where it runs.
# "down" (the pull request closed or merged): `kit delete ... --yes`: its
# objects, the namespaces kit created for it, its inventory.
# "prune" (a schedule): delete every instance not applied for
# $KIT_PREVIEW_MAX_AGE.
#
# Environment:
#   KIT_PROJECT              project directory (default: .)
#   KIT_PREVIEW_ENVIRONMENT  the environment of instances (default: preview)
#   KIT_PREVIEW_ACTION       up | down | prune; default: down when the GitHub
#                            event action is "closed", else up
#   KIT_INSTANCE             the instance; default pr-<number> (GitHub:
#                            KIT_PR_NUMBER) or mr-<iid> (GitLab:
#                            CI_MERGE_REQUEST_IID)
#   KIT_IMAGE                SERVICE=REF,... for "up"
#   KIT_PREVIEW_MAX_AGE      for "prune" (default: 72h)
#   KIT_KUBECTL, AWS_*       as for kit itself
set -eu
project=${KIT_PROJECT:-.}
env=${KIT_PREVIEW_ENVIRONMENT:-preview}

instance=${KIT_INSTANCE:-}
if [ -z "$instance" ]; then
    if [ -n "${KIT_PR_NUMBER:-}" ]; then
        instance=pr-$KIT_PR_NUMBER
    elif [ -n "${CI_MERGE_REQUEST_IID:-}" ]; then
        instance=mr-$CI_MERGE_REQUEST_IID
    fi
fi
action=${KIT_PREVIEW_ACTION:-}
if [ -z "$action" ]; then
    if [ "${GITHUB_EVENT_ACTION:-}" = closed ]; then action=down; else action=up; fi
fi
need_instance() {
    if [ -z "$instance" ]; then
        echo "kit-preview: no instance name: set KIT_INSTANCE, KIT_PR_NUMBER or CI_MERGE_REQUEST_IID" >&2
        exit 2
    fi
}

case "$action" in
    up)
        need_instance
        kit apply -C "$project" -e "$env" --instance "$instance"
        ;;
    down)
        need_instance
        kit delete -C "$project" -e "$env" --instance "$instance" --yes
        ;;
    prune)
        kit delete -C "$project" -e "$env" --older-than "${KIT_PREVIEW_MAX_AGE:-72h}" --yes
        ;;
    *)
        echo "kit-preview: unknown KIT_PREVIEW_ACTION '$action' (up, down or prune)" >&2
        exit 2
        ;;
esac
