"""Checks that what downloads synergy-ls releases asks for the names the release workflow makes.

usage: release-names.py REPO   (run with check-jsonschema's Python: it needs ruamel.yaml)

The workflow (.github/workflows/release.yml) names each archive
`synergy-ls-<tag>-<target>.<zip|tar.gz>` holding `synergy-ls-<tag>-<target>/synergy-ls[.exe]`.
cargo-binstall (Cargo.toml [package.metadata.binstall]), Mason (packaging/mason/package.yaml)
and winget (packaging/winget/*.yaml) must ask for exactly those, for every target the matrix
builds. Prints a summary; exits 1 with the differences.
"""
import pathlib
import re
import sys
import tomllib

from ruamel.yaml import YAML

repo = pathlib.Path(sys.argv[1])
yaml = YAML(typ="safe")
errors = []
version = tomllib.loads((repo / "Cargo.toml").read_text())["package"]["version"]
tag = f"v{version}"

workflow = yaml.load((repo / ".github/workflows/release.yml").read_text())
matrix = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
archive_step = next(s for s in workflow["jobs"]["build"]["steps"] if s.get("name", "").startswith("Archive"))
if 'name=synergy-ls-${GITHUB_REF_NAME}-${{ matrix.target }}' not in archive_step["run"]:
    errors.append("the workflow's archive step no longer names archives synergy-ls-<tag>-<target>")


def made(target, archive):
    """(archive file, binary inside) as the workflow makes them for a tag."""
    exe = "synergy-ls.exe" if archive == "zip" else "synergy-ls"
    base = f"synergy-ls-{tag}-{target}"
    return f"{base}.{archive}", f"{base}/{exe}"


expected = {m["target"]: made(m["target"], m["archive"]) for m in matrix}
for target in ["x86_64-pc-windows-msvc", "aarch64-apple-darwin", "x86_64-apple-darwin",
               "x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]:
    if target not in expected:
        errors.append(f"the workflow does not build {target}")

# cargo-binstall: its templates, filled in as binstall fills them.
meta = tomllib.loads((repo / "Cargo.toml").read_text())["package"]["metadata"]["binstall"]
for target, (archive, binary) in expected.items():
    fmt = meta.get("overrides", {}).get(target, {}).get("pkg-fmt", meta["pkg-fmt"])
    suffix = {"tgz": ".tar.gz", "zip": ".zip"}[fmt]
    values = {"repo": "R", "version": version, "name": "synergy-ls", "target": target,
              "archive-suffix": suffix, "bin": "synergy-ls",
              "binary-ext": ".exe" if "windows" in target else ""}
    fill = lambda t: re.sub(r"\{ ?([a-z-]+) ?\}", lambda m: values[m.group(1)], t)
    url, bin_dir = fill(meta["pkg-url"]), fill(meta["bin-dir"])
    if url != f"R/releases/download/{tag}/{archive}":
        errors.append(f"cargo-binstall asks for {url} for {target}, the workflow makes {archive}")
    if bin_dir != binary:
        errors.append(f"cargo-binstall looks for {bin_dir} in {archive}, it holds {binary}")

# Mason: every asset's file and bin, with {{version}} as the source id's version.
mason = yaml.load((repo / "packaging/mason/package.yaml").read_text())
mason_version = mason["source"]["id"].rsplit("@", 1)[1]
mason_targets = {"win_x64": "x86_64-pc-windows-msvc", "darwin_arm64": "aarch64-apple-darwin",
                 "darwin_x64": "x86_64-apple-darwin", "linux_x64_gnu": "x86_64-unknown-linux-gnu",
                 "linux_arm64_gnu": "aarch64-unknown-linux-gnu"}
seen = set()
for asset in mason["source"]["asset"]:
    target = mason_targets[asset["target"]]
    seen.add(target)
    file = asset["file"].replace("{{version}}", mason_version)
    binary = asset["bin"].replace("{{version}}", mason_version)
    if (file, binary) != expected[target]:
        errors.append(f"Mason asks for {file} / {binary} for {target}, the workflow makes {expected[target]}")
if seen != set(expected):
    errors.append(f"Mason covers {sorted(seen)}, the workflow builds {sorted(expected)}")
if mason["bin"].get("synergy-ls") != "{{source.asset.bin}}":
    errors.append("Mason's bin does not link synergy-ls to the asset's binary")

# winget: the installer URL and the portable file inside the zip.
for manifest in (repo / "packaging/winget").glob("*.yaml"):
    w = yaml.load(manifest.read_text())
    archive, binary = expected["x86_64-pc-windows-msvc"]
    for key in ["PackageIdentifier", "PackageVersion", "ManifestType", "ManifestVersion", "Installers"]:
        if key not in w:
            errors.append(f"{manifest.name} has no {key}")
    url = w["Installers"][0]["InstallerUrl"]
    if not url.endswith(f"/releases/download/{tag}/{archive}"):
        errors.append(f"winget downloads {url}, the workflow makes {archive}")
    inside = w["NestedInstallerFiles"][0]["RelativeFilePath"].replace("\\", "/")
    if inside != binary:
        errors.append(f"winget runs {inside} from the zip, it holds {binary}")
    if w["PackageVersion"] != version:
        errors.append(f"winget's PackageVersion {w['PackageVersion']} is not {version}")

if errors:
    print("; ".join(errors))
    sys.exit(1)
print(f"{len(expected)} targets")
