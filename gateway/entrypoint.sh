#!/bin/sh
# The gateway image's entrypoint: render nginx.conf.template from the environment, then
# run the command (nginx). The official nginx image's own entrypoint does the same with
# envsubst, but a base built on Debian's nginx has none, so the image carries this one and
# runs the same way on either base.
#
# Only the template's own ${PLACEHOLDERS} are substituted (nginx's $variables stay), and a
# placeholder without a value stops the start, naming it, instead of leaving a broken file.
set -eu

template="${GATEWAY_TEMPLATE:-/etc/nginx/templates/nginx.conf.template}"
output="${GATEWAY_CONFIG:-/tmp/nginx.conf}"

names="$(grep -o '\${[A-Z][A-Z0-9_]*}' "$template" | tr -d '${}' | sort -u)"
missing=""
for name in $names; do
    printenv "$name" >/dev/null || missing="$missing $name"
done
if [ -n "$missing" ]; then
    echo "gateway: no value for:$missing (set them in the environment)" >&2
    exit 1
fi
# envsubst's list of the variables it may replace: ${A}${B}...
envsubst "$(printf '${%s}' $names)" <"$template" >"$output.partial"
mv "$output.partial" "$output"

# The stub_status server for the metrics exporter, when GATEWAY_STATUS_LISTEN asks for it:
# the main configuration includes GATEWAY_RUN_DIR/status.d/*.conf (none: no such server).
status_dir="$GATEWAY_RUN_DIR/status.d"
rm -rf "$status_dir"
if [ -n "${GATEWAY_STATUS_LISTEN:-}" ]; then
    mkdir -p "$status_dir"
    envsubst '${GATEWAY_STATUS_LISTEN}' \
        <"${GATEWAY_STATUS_TEMPLATE:-/etc/nginx/templates/status.conf.template}" \
        >"$status_dir/stub_status.conf"
fi
exec "$@"
