"""The project's own MJCF pieces (floors, terrain, objects), composed with robots via MjSpec."""

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent


def asset_path(name: str) -> Path:
    path = ASSETS_DIR / name
    if not path.is_file():
        have = sorted(p.name for p in ASSETS_DIR.glob("*.xml"))
        raise FileNotFoundError(f"no asset {name!r} in {ASSETS_DIR}; have: {', '.join(have)}")
    return path
