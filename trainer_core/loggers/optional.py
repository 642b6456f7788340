"""The error a third-party logger raises when its package is not installed."""


def missing_package(logger: str, package: str) -> ImportError:
    """`ImportError` naming the pip package to install (what 1.0 scripts catch to skip)."""
    return ImportError(
        f"{logger} needs the `{package}` package, which is not installed; "
        f"install it with `pip install {package}`."
    )
