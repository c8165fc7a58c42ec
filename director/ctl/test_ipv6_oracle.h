// What ipvsadm 1.31 printed for a rule set of IPv4 and IPv6 services, for the tests of vsadm
// and vsd to compare with: Debian 12's ipvsadm on Debian 12's Linux 6.1 IPVS, booted under qemu
// (the qemu-kernel DUT's guest). The commands were those of format_ipv6_test.cpp's kRules.
#pragma once

namespace vsd::ctl::test_oracle {

// ipvsadm -S -n. ipvsadm -C, then -R of this text, then -S -n printed it again.
inline constexpr const char* kIpv6SaveNumeric =
    "-A -t 10.0.0.1:80 -s rr\n"
    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1\n"
    "-A -t [2001:db8::80]:80 -s rr\n"
    "-a -t [2001:db8::80]:80 -r [2001:db8:1::11]:8080 -m -w 3\n"
    "-a -t [2001:db8::80]:80 -r [2001:db8:1::12]:80 -g -w 1\n"
    "-A -t [2001:db8::81]:80 -s rr -p 360\n"
    "-A -t [2001:db8::82]:80 -s rr -p 300\n"
    "-A -u [2001:db8::53]:53 -s wlc -o\n"
    "-a -u [2001:db8::53]:53 -r [2001:db8:1::11]:53 -m -w 1\n"
    "-A -f 7 -s rr\n"
    "-a -f 7 -r 10.0.1.14:0 -g -w 2\n"
    "-A -f 7 -6 -s rr -p 60 -M 48\n"
    "-a -f 7 -6 -r [2001:db8:1::14]:0 -g -w 2\n";

}  // namespace vsd::ctl::test_oracle
