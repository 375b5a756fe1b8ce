# SPDX-License-Identifier: GPL-2.0-only
"""Printing test data as C string arrays of hex, for the unit tests."""


def c_array(name, data):
    """Prints data as 'static const char name[] = "..."' in 64-digit lines."""
    h = data.hex()
    lines = [h[i:i + 64] for i in range(0, len(h), 64)]
    print("static const char %s[] =" % name)
    for j, line in enumerate(lines):
        print('\t"%s"%s' % (line, ";" if j == len(lines) - 1 else ""))
