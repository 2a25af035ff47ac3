module svclab.local/myapp

go 1.26
