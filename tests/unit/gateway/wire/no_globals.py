"""The wire layer has no mutable global state: no object of
libvej-gateway-wire.a lives in a writable data section (.data, .bss and
their subsections; read-only tables in .rodata or .data.rel.ro are fine).
Run by meson with the library's path."""
import re
import subprocess
import sys

out = subprocess.run(['objdump', '-t', sys.argv[1]], check=True, capture_output=True,
                     text=True).stdout
bad = []
for line in out.splitlines():
    # "ADDR FLAGS SECTION SIZE NAME": objects have the "O" flag.
    m = re.match(r'^[0-9a-f]+ (.{7}) (\S+)\s+[0-9a-f]+\s+(\S+)$', line)
    if not m or 'O' not in m.group(1):
        continue
    section = m.group(2)
    if section.startswith('.data.rel.ro') or section.startswith('.rodata'):
        continue
    if section.startswith('.data') or section.startswith('.bss') or section == '*COM*':
        bad.append(f'{m.group(3)} in {section}')
if bad:
    print('mutable globals in the wire layer:', ', '.join(bad))
    sys.exit(1)
print('no mutable globals')
