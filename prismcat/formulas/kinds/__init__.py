"""The built-in formula kinds, one module each; registered by :mod:`prismcat.formulas.builtin`."""
