pveversion -v
qm list
