"""One module per command (or command group). Each holds a library function that does the work and
returns values; the command line (`ipt_notes.cli`) only parses, prints and maps errors. The core
modules never import from here.
"""
