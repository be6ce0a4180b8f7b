"""`python -m skeleton_zoo.evaluate`, as `python -m skeleton_zoo evaluate` (`skeleton_zoo.cli.evaluate`)."""
if __name__ == "__main__":
    __import__("skeleton_zoo.cli").cli.exit_with("evaluate")
