#ifndef PATCHBAY_CPCAP_SHIM_H
#define PATCHBAY_CPCAP_SHIM_H
// libpcap: BPF filter compilation and pcap reading.
#include <pcap/pcap.h>
#endif
