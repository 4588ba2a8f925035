"""How state is read: typed parsers of the outputs the tutorial reads by hand.

Each parser takes the text a command printed and returns a small dataclass, so
scenarios compare structures ("the table has .101 with weight 0"), never grep text.
Every parser has golden-file tests in tests/ (real recorded outputs and the tutorial's own).
"""
