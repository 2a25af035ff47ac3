module svclab.local/runcwrap

go 1.26
