"""skaffold's `custom` builder where there is no Docker daemon (NEWSROOM_BUILDER=buildah).

skaffold runs `python -m newsroom_devstack.skaffold_build <image> [--app-owner UID:GID]` from
the repository root, with IMAGE (the reference it wants, e.g.
127.0.0.1:5000/newsroom_articles:<tag>) and PUSH_IMAGE in the environment. The image is built
exactly as `make images` builds it (images.build_image: the same Dockerfile, local base and
build arguments), plus APP_OWNER, which skaffold's dev profile sets so that file sync can
replace the code; then it is pushed to IMAGE, the only way skaffold gets an image without a
Docker daemon.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence

from newsroom_devstack import containers, images
from newsroom_devstack.containers import ToolError

BUILDABLE = tuple(i.name for i in images.IMAGES if i.name in (*images.SERVICE_PORTS, "gateway"))


def build_and_push(name: str, reference: str, *, app_owner: str | None, push: bool) -> str:
    """Build image `name` as `make images` does and push it to `reference`; return the latter."""
    if not push:
        raise ToolError(
            "skaffold asked for an image in a Docker daemon (PUSH_IMAGE is not true): the buildah "
            "builder can only push; run skaffold with --default-repo <registry>"
        )
    (image,) = [i for i in images.IMAGES if i.name == name]
    if app_owner:
        image = dataclasses.replace(image, build_args={**image.build_args, "APP_OWNER": app_owner})
    containers.require_tools(["buildah", "runc"])
    (base,) = [b for b in images.BASES if b.name == image.base]
    if not containers.image_exists(containers.local_ref(base.name, images.base_tag(base))):
        containers.require_tools(["mmdebstrap"])
    base_ref = images.build_base(base).ref
    built = images.build_image(image, base_ref)
    # Plain HTTP: the local registry listens on the loopback without a certificate.
    containers.run(
        ["buildah", "push", "--tls-verify=false", built.ref, f"docker://{reference}"],
        what=f"pushing {reference}",
        timeout=900,
    )
    if not built.cached:
        # vfs keeps every image in full: the registry holds it now, and the next edit makes
        # another one. Images `make images` built stay (their own tags).
        containers.run(["buildah", "rmi", built.ref], what="buildah rmi")
        containers.prune()
    return reference


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `python -m newsroom_devstack.skaffold_build <image>` under skaffold."""
    parser = argparse.ArgumentParser(
        prog="python -m newsroom_devstack.skaffold_build",
        description="skaffold's custom builder: build an image with buildah and push it.",
    )
    parser.add_argument("name", choices=BUILDABLE, help="the image, newsroom/<name>")
    parser.add_argument(
        "--app-owner", help="owner of the installed code (skaffold's dev profile: 10001:10001)"
    )
    args = parser.parse_args(argv)
    reference = os.environ.get("IMAGE")
    if not reference:
        parser.error("IMAGE is not set: skaffold sets it when it runs its custom builder")
    try:
        build_and_push(
            args.name,
            reference,
            app_owner=args.app_owner,
            push=os.environ.get("PUSH_IMAGE") == "true",
        )
    except ToolError as error:
        print(f"skaffold_build: {error}", file=sys.stderr)
        return 1
    print(f"skaffold_build: pushed {reference}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
