#ifndef PATCHBAY_CLINUXNET_H
#define PATCHBAY_CLINUXNET_H

// Thin, audited C wrappers around the Linux calls Swift cannot make directly:
// variadic ioctl(), packed epoll_event, sockaddr_un filling and an
// async-signal-safe termination handler. Every function returns -errno on
// failure (never sets a global), so the Swift side can name the failed call.

#include <stdint.h>
#include <stddef.h>

/// Opens /dev/net/tun and attaches a TAP interface named `name` (created if
/// missing). `vnet_hdr` bit 0 adds IFF_VNET_HDR, bit 1 IFF_MULTI_QUEUE (each open of the name is one queue). The kernel's chosen name is copied
/// into `out_name` (at least 16 bytes). Returns the non-blocking, close-on-exec
/// descriptor or -errno.
int pb_tap_open(const char *name, int vnet_hdr, char *out_name);

/// Names the calling thread (at most 15 bytes) as the kernel shows it; 0 or -errno.
int pb_thread_set_name(const char *name);

/// TUN_F_* offload flags (linux/if_tun.h), including USO from Linux 6.2,
/// which older headers lack.
enum {
  PB_TUN_F_CSUM = 0x01,
  PB_TUN_F_TSO4 = 0x02,
  PB_TUN_F_TSO6 = 0x04,
  PB_TUN_F_TSO_ECN = 0x08,
  PB_TUN_F_USO4 = 0x20,
  PB_TUN_F_USO6 = 0x40,
};

/// TUNSETOFFLOAD on a TAP descriptor. Returns 0 or -errno.
int pb_tap_set_offload(int fd, unsigned int flags);

/// TUNSETVNETHDRSZ on a TAP descriptor. Returns 0 or -errno.
int pb_tap_set_vnet_hdr_size(int fd, int size);

/// Sets an interface's MTU (SIOCSIFMTU). Returns 0 or -errno.
int pb_if_set_mtu(const char *name, int mtu);

/// Sets an interface's Ethernet address (SIOCSIFHWADDR). Returns 0 or -errno.
int pb_if_set_mac(const char *name, const uint8_t mac[6]);

/// Reads an interface's Ethernet address (SIOCGIFHWADDR). Returns 0 or -errno.
int pb_if_get_mac(const char *name, uint8_t mac[6]);

/// Sets or clears IFF_UP on an interface. Returns 0 or -errno.
int pb_if_set_up(const char *name, int up);

/// The interface index of `name`, or 0 when no such interface exists.
unsigned int pb_if_index(const char *name);

/// Creates an epoll instance (close-on-exec). Returns the descriptor or -errno.
int pb_epoll_create(void);

/// Adds `fd` to `epfd` for EPOLLIN (edge-free, level triggered) with `token`
/// returned on readiness. Returns 0 or -errno.
int pb_epoll_add(int epfd, int fd, uint64_t token);

/// Removes `fd` from `epfd`. Returns 0 or -errno.
int pb_epoll_remove(int epfd, int fd);

/// Waits for readiness up to `timeout_ns` nanoseconds (epoll_pwait2, for
/// deadlines finer than a millisecond; negative waits forever); fills `tokens`
/// with up to `max` tokens. Returns the count (0 on timeout) or -errno (EINTR
/// included, for the caller to retry).
int pb_epoll_wait_ns(int epfd, uint64_t *tokens, int max, int64_t timeout_ns);

/// Creates a non-blocking, close-on-exec eventfd. Returns it or -errno.
int pb_eventfd_create(void);

/// Creates, binds and listens on a Unix stream socket at `path` with mode
/// 0600 (set on the socket before bind, so it is never briefly wider, and
/// without the process-wide umask).
/// Returns the descriptor or -errno.
int pb_unix_listen(const char *path, int backlog);

/// Connects a Unix stream socket to `path`. Returns the descriptor or -errno.
int pb_unix_connect(const char *path);

/// The peer's uid on a connected Unix socket (SO_PEERCRED), or -errno.
long pb_unix_peer_uid(int fd);

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that write one byte to
/// `notify_fd` (async-signal-safe), and ignores SIGPIPE so a vanished reader
/// is an EPIPE error instead of death. Returns 0 or -errno.
int pb_install_termination_handler(int notify_fd);

/// Opens a packet socket on interface `name` for a switch port: non-blocking,
/// close-on-exec, PACKET_VNET_HDR (a virtio-net header before every frame, so
/// GSO superframes and partial checksums cross), PACKET_AUXDATA (to get back
/// the VLAN tag the kernel strips on receive), PACKET_IGNORE_OUTGOING (our own
/// transmissions are not read back), bound to the interface, promiscuous.
/// Stores the interface index in `ifindex`. Returns the descriptor or -errno.
int pb_packet_open(const char *name, int *ifindex);

/// Joins packet socket `fd` to hash fanout group `group` (16 bits) on its
/// interface; 0 or -errno (EINVAL: the group is another interface's).
int pb_packet_join_fanout(int fd, int group);

/// One receive slot of a batch: `data` points at `capacity` bytes where the
/// virtio-net header and the frame land, contiguous. On return `frame_offset`
/// and `frame_length` locate the frame within `data` as it arrived (the header
/// is the 10 bytes before it). The VLAN tag the kernel stripped on receive, if
/// any, is reported in `tag_status` (`PB_RX_TAG_*` bits, 0 for none),
/// `tag_tpid` and `tag_control` (host order), not put back: PatchbayWire's
/// `HeaderedFrame.reinsertTag` does that, in the room left before the header.
typedef struct {
  unsigned char *data;
  unsigned int capacity;
  unsigned int frame_offset;
  unsigned int frame_length;
  unsigned int tag_status;
  uint16_t tag_tpid;
  uint16_t tag_control;
} pb_rx_slot;

/// `tag_status` bits: the kernel stripped a tag (TP_STATUS_VLAN_VALID), and
/// `tag_tpid` holds its protocol identifier (TP_STATUS_VLAN_TPID_VALID; without
/// it the tag is 802.1Q's 0x8100).
enum {
  PB_RX_TAG_VALID = 0x1,
  PB_RX_TAG_TPID_VALID = 0x2,
};

/// Receives up to `count` frames with one recvmmsg (PACKET_AUXDATA read for
/// each); each frame lands at `slot.data + headroom`, its header before it
/// (`headroom` >= 10; 14 or more leaves room to put a tag back).
/// Returns how many slots were filled (0 when none waited) or -errno.
int pb_packet_receive_batch(int fd, pb_rx_slot *slots, int count, unsigned int headroom);

/// A queue of frames waiting for one `sendmmsg` on a packet socket. Each
/// message is (virtio-net header copy, MAC addresses, optional pushed tag,
/// rest of the frame); the frame bytes are referenced, not copied, so they
/// must stay in place until the queue is flushed.
typedef struct pb_tx_queue pb_tx_queue;

/// Allocates a queue of up to `capacity` frames (at most 64). NULL on failure.
pb_tx_queue *pb_tx_queue_create(int capacity);

/// Frees a queue.
void pb_tx_queue_destroy(pb_tx_queue *queue);

/// Frames waiting in the queue.
int pb_tx_queue_count(const pb_tx_queue *queue);

/// True when no more frames fit.
int pb_tx_queue_is_full(const pb_tx_queue *queue);

/// Queues a frame: `header` (10 bytes, copied), `addresses` (12 bytes,
/// referenced), `tag` (4 bytes, copied) when `has_tag`, then `rest_length`
/// bytes at `rest` (referenced). Returns 0, or -1 when the queue is full.
int pb_tx_queue_add(pb_tx_queue *queue, const void *header, const void *addresses,
                    const void *tag, int has_tag, const void *rest, unsigned int rest_length);

/// Sends every queued frame with as few `sendmmsg` calls as the socket takes,
/// and empties the queue. Stores the frame bytes (without header) of each
/// message sent in `sent_lengths` (room for `capacity` entries) and returns how
/// many were sent; the rest were dropped (`*error` holds the errno that
/// stopped them, or 0).
int pb_tx_queue_flush(int fd, pb_tx_queue *queue, unsigned int *sent_lengths, int *error);

/// Restores default dispositions for SIGINT, SIGTERM, SIGHUP and SIGPIPE
/// (for a child about to exec).
void pb_reset_signal_handlers(void);

/// Installs SIGINT, SIGTERM and SIGHUP handlers that shut down the write side
/// of `fd` (a capture's control connection): the daemon then ends the capture
/// and sends its summary. shutdown() is async-signal-safe. Returns 0 or -errno.
int pb_install_capture_stop_handler(int fd);

/// Starts `argv[0]` (a path) with `argv` (NULL-terminated) in a new process
/// group, stdin from /dev/null and stdout and stderr on `output_fd`, with every
/// signal unblocked and at its default disposition: the daemon's own mask
/// (and whatever it inherited) must not leak into the servers and DHCP
/// clients it starts for a lab. Returns the pid or -errno.
int pb_spawn(char *const argv[], int output_fd);

/// `pb_spawn` with stdin from `input_fd` (-1: /dev/null), stdout on `output_fd`
/// and stderr on `error_fd`. Returns the pid or -errno.
int pb_spawn_io(char *const argv[], int input_fd, int output_fd, int error_fd);

/// Runs `argv` (as `pb_spawn` starts it) to completion, collecting its stdout
/// and stderr (NUL-terminated, malloc'ed, NULL when empty; the caller frees
/// them) and its exit status (128 + signal when killed). Returns 0 or -errno.
/// Foundation's Process would do, but it starts libdispatch threads that keep
/// the daemon's full capabilities after it drops them (capabilities are per thread).
int pb_run_capture(char *const argv[], char **output, char **errors, int *status);

/// Restricts the calling thread to the capabilities in `keep` (bit N = capability
/// N): permitted, effective and bounding sets, no inheritable or ambient ones,
/// and no_new_privs. Per thread: every thread of the process has to call it.
/// Returns 0 or -errno.
int pb_restrict_capabilities(uint64_t keep);

/// Makes the calling thread create and open files as `uid`:`gid` (its
/// filesystem ids), so that a capture thread without CAP_DAC_OVERRIDE can still
/// write in a directory that belongs to that user. Returns 0 or -EPERM.
int pb_set_file_owner(uint32_t uid, uint32_t gid);

/// Makes the calling thread (alone) run as `uid`:`gid` (real, effective and
/// saved ids, no supplementary groups) keeping only the capabilities in `keep`
/// (bit N = capability N; bounding set too), with no_new_privs and the process
/// not dumpable. With `file_uid` and `file_gid` not negative, its filesystem ids
/// become those (a capture thread writing as its directory's owner). Needs
/// root's privileges in this thread. Returns 0 or -errno.
int pb_become_user(uint32_t uid, uint32_t gid, uint64_t keep, int64_t file_uid, int64_t file_gid);

/// The calling thread's filesystem uid and gid.
void pb_file_owner(uint32_t *uid, uint32_t *gid);


// The capture ring's shared words: one thread writes each, the other reads it.
// C11 atomics through the compiler's builtins, because the ring lives in raw
// memory that Swift's Atomic type cannot be placed in.

/// Loads `*word` with acquire ordering (what the other thread wrote before its release store is visible).
static inline uint64_t pb_load_acquire(const uint64_t *word) {
  return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

/// Stores `value` to `*word` with release ordering (everything written before is visible to an acquire load).
static inline void pb_store_release(uint64_t *word, uint64_t value) {
  __atomic_store_n(word, value, __ATOMIC_RELEASE);
}

#endif
