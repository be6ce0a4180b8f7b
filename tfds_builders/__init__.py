"""TFDS builders for NTU RGB+D, Human3.6M and HumanEva-I.

Empty for now: the builders land with the dataset issue. Importing this
package will register them with `tensorflow_datasets`.
"""
