package find

import "syscall"

func init() { mapPopulate = syscall.MAP_POPULATE }
