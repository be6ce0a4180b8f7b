"""`python -m skeleton_zoo.convert`, as `python -m skeleton_zoo convert` (`skeleton_zoo.cli.convert`)."""
if __name__ == "__main__":
    __import__("skeleton_zoo.cli").cli.exit_with("convert")
