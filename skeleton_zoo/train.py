"""`python -m skeleton_zoo.train`, as `python -m skeleton_zoo train` (`skeleton_zoo.cli.train`)."""
if __name__ == "__main__":
    __import__("skeleton_zoo.cli").cli.exit_with("train")
