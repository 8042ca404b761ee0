module example.com/fixture

go 1.26.7

require github.com/purista-go/purista v0.0.0

replace github.com/purista-go/purista => ../../../..
