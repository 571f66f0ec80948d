// Command gpsoc is openGPSoC: a clinical system for UK general practice.
package main

import (
	"os"

	"github.com/opengpsoc/gpsoc/commands"
)

func main() { os.Exit(commands.Main()) }
