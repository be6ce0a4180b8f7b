"""`python -m skeleton_zoo.classify`, as `python -m skeleton_zoo classify` (`skeleton_zoo.cli.classify`)."""
if __name__ == "__main__":
    __import__("skeleton_zoo.cli").cli.exit_with("classify")
