// A test fixture, not part of netvigil: a Snowflake proxy for tests/probe/test_torsf.py,
// built at test time from Debian's golang-snowflake-dev 2.5.1 (GOPATH mode).
//
// It is Debian's proxy/lib, the library the snowflake-proxy binary runs, started as
// snowflake-proxy's main.go starts it, with one setting that binary has no flag for:
// NATProbeURL. snowflake-proxy always sends its NAT self-test to the default,
// https://snowflake-broker.torproject.net:8443/probe (proxy/lib/snowflake.go,
// DefaultNATProbeURL); here it goes to -probe, the test's loopback broker, so the proxy
// never even tries to reach an address outside the test's network namespace.
package main

import (
	"flag"
	"log"
	"os"

	"git.torproject.org/pluggable-transports/snowflake.git/v2/common/event"
	sf "git.torproject.org/pluggable-transports/snowflake.git/v2/proxy/lib"
)

func main() {
	broker := flag.String("broker", "", "the broker's URL")
	relay := flag.String("relay", "", "the Snowflake server's WebSocket URL")
	probe := flag.String("probe", "", "the NAT self-test's URL")
	stun := flag.String("stun", "", "the STUN server's URL")
	pattern := flag.String("allowed-relay-hostname-pattern", "", "the relay hosts allowed")
	flag.Parse()
	log.SetOutput(os.Stderr)
	log.SetFlags(log.LstdFlags | log.LUTC)
	proxy := sf.SnowflakeProxy{
		Capacity:                   1,
		STUNURL:                    *stun,
		BrokerURL:                  *broker,
		RelayURL:                   *relay,
		NATProbeURL:                *probe,
		KeepLocalAddresses:         true, // the namespace's own addresses are the only ones
		NATTypeMeasurementInterval: 0,
		EventDispatcher:            event.NewSnowflakeEventDispatcher(),
		RelayDomainNamePattern:     *pattern,
		AllowNonTLSRelay:           true, // a loopback server: there is nothing to encrypt against
	}
	log.Printf("proxy starting")
	if err := proxy.Start(); err != nil {
		log.Fatal(err)
	}
}
