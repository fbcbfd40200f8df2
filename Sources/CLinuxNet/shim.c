// Why this file exists: ioctl() is variadic and struct ifreq / epoll_event
// (packed on x86_64) / sockaddr_un do not import cleanly into Swift. Each
// wrapper is a single system call plus argument marshalling; none keeps state
// except the signal notification descriptor.

#define _GNU_SOURCE
#include "CLinuxNet.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <unistd.h>

static void copy_name(struct ifreq *ifr, const char *name) {
  memset(ifr, 0, sizeof(*ifr));
  strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
}

int pb_tap_open(const char *name, int vnet_hdr, char *out_name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct ifreq ifr;
  copy_name(&ifr, name);
  // Bit 0 of `vnet_hdr` asks for virtio-net headers, bit 1 for one queue of a
  // multi-queue TAP (a second open of the name adds a queue).
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | ((vnet_hdr & 1) ? IFF_VNET_HDR : 0) |
                  ((vnet_hdr & 2) ? IFF_MULTI_QUEUE : 0);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  if (out_name) {
    memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
    out_name[IFNAMSIZ - 1] = 0;
  }
  return fd;
}

int pb_tap_set_offload(int fd, unsigned int flags) {
  return ioctl(fd, TUNSETOFFLOAD, flags) < 0 ? -errno : 0;
}

int pb_tap_set_vnet_hdr_size(int fd, int size) {
  return ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 ? -errno : 0;
}

// Interface ioctls need any socket in the interface's namespace.
static int control_socket(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  return s < 0 ? -errno : s;
}

static int if_ioctl(unsigned long request, struct ifreq *ifr) {
  int s = control_socket();
  if (s < 0) return s;
  int rc = ioctl(s, request, ifr) < 0 ? -errno : 0;
  close(s);
  return rc;
}

int pb_if_set_mtu(const char *name, int mtu) {
  struct ifreq ifr;
  copy_name(&ifr, name);
  ifr.ifr_mtu = mtu;
  return if_ioctl(SIOCSIFMTU, &ifr);
}

int pb_if_set_mac(const char *name, const uint8_t mac[6]) {
  struct ifreq ifr;
  copy_name(&ifr, name);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
  return if_ioctl(SIOCSIFHWADDR, &ifr);
}

int pb_if_get_mac(const char *name, uint8_t mac[6]) {
  struct ifreq ifr;
  copy_name(&ifr, name);
  int rc = if_ioctl(SIOCGIFHWADDR, &ifr);
  if (rc == 0) memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  return rc;
}

int pb_if_set_up(const char *name, int up) {
  struct ifreq ifr;
  copy_name(&ifr, name);
  int rc = if_ioctl(SIOCGIFFLAGS, &ifr);
  if (rc < 0) return rc;
  if (up) ifr.ifr_flags |= IFF_UP;
  else ifr.ifr_flags &= ~IFF_UP;
  return if_ioctl(SIOCSIFFLAGS, &ifr);
}

unsigned int pb_if_index(const char *name) { return if_nametoindex(name); }

int pb_epoll_create(void) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int pb_epoll_add(int epfd, int fd, uint64_t token) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN;
  ev.data.u64 = token;
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int pb_epoll_remove(int epfd, int fd) {
  return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int pb_epoll_wait_ns(int epfd, uint64_t *tokens, int max, int64_t timeout_ns) {
  struct epoll_event events[64];
  if (max > 64) max = 64;
  int n;
  if (timeout_ns < 0) {
    n = epoll_wait(epfd, events, max, -1);
  } else {
    struct timespec timeout = {timeout_ns / 1000000000, timeout_ns % 1000000000};
    n = epoll_pwait2(epfd, events, max, &timeout, NULL);
    if (n < 0 && errno == ENOSYS) {
      // Kernels before 5.11: milliseconds, rounded up so a deadline is never early.
      n = epoll_wait(epfd, events, max, (int)((timeout_ns + 999999) / 1000000));
    }
  }
  if (n < 0) return -errno;
  for (int i = 0; i < n; i++) tokens[i] = events[i].data.u64;
  return n;
}

int pb_eventfd_create(void) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

static int fill_unix_address(struct sockaddr_un *addr, const char *path) {
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(addr->sun_path)) return -ENAMETOOLONG;
  strcpy(addr->sun_path, path);
  return 0;
}

int pb_unix_listen(const char *path, int backlog) {
  struct sockaddr_un addr;
  int rc = fill_unix_address(&addr, path);
  if (rc < 0) return rc;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  unlink(path);
  // Linux makes the socket's file with the socket inode's mode less the
  // umask, so narrowing the inode first gives 0600 from the start without
  // touching the umask, which is the whole process's: narrowing it around
  // bind once left folders other threads made meanwhile without search rights.
  if (fchmod(s, 0600) < 0) {
    int err = errno;
    close(s);
    return -err;
  }
  rc = bind(s, (struct sockaddr *)&addr, sizeof(addr));
  int err = errno;
  if (rc < 0 || listen(s, backlog) < 0) {
    if (rc >= 0) err = errno;
    close(s);
    return -err;
  }
  chmod(path, 0600);
  return s;
}

int pb_unix_connect(const char *path) {
  struct sockaddr_un addr;
  int rc = fill_unix_address(&addr, path);
  if (rc < 0) return rc;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    int err = errno;
    close(s);
    return -err;
  }
  return s;
}

long pb_unix_peer_uid(int fd) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return -errno;
  return (long)cred.uid;
}

static volatile int notify_descriptor = -1;

static void on_termination(int signo) {
  int saved = errno;
  unsigned char byte = (unsigned char)signo;
  if (notify_descriptor >= 0) {
    ssize_t ignored = write(notify_descriptor, &byte, 1);
    (void)ignored;
  }
  errno = saved;
}

// Installs `handler` for SIGINT, SIGTERM and SIGHUP (restarting interrupted
// calls) and unblocks them on this thread. A parent that spawned us from a
// libdispatch worker thread (Foundation's Process does) passes its blocked
// signal mask on through posix_spawn, and the handlers would never run.
static int install_stop_handlers(void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGINT, &sa, NULL) < 0) return -errno;
  if (sigaction(SIGTERM, &sa, NULL) < 0) return -errno;
  if (sigaction(SIGHUP, &sa, NULL) < 0) return -errno;
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGHUP);
  int rc = pthread_sigmask(SIG_UNBLOCK, &handled, NULL);
  return rc == 0 ? 0 : -rc;
}

int pb_install_termination_handler(int notify_fd) {
  notify_descriptor = notify_fd;
  signal(SIGPIPE, SIG_IGN);
  return install_stop_handlers(on_termination);
}

static volatile int capture_descriptor = -1;

static void on_capture_stop(int signo) {
  (void)signo;
  int saved = errno;
  if (capture_descriptor >= 0) shutdown(capture_descriptor, SHUT_WR);
  errno = saved;
}

int pb_install_capture_stop_handler(int fd) {
  capture_descriptor = fd;
  return install_stop_handlers(on_capture_stop);
}

void pb_reset_signal_handlers(void) {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
}

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

int pb_packet_open(const char *name, int *ifindex) {
  unsigned int index = if_nametoindex(name);
  if (index == 0) return -ENODEV;
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return -errno;
  int one = 1;
  int err = 0;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) {
    err = errno;
  }
  if (!err) {
    struct sockaddr_ll address;
    memset(&address, 0, sizeof(address));
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = (int)index;
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0) err = errno;
  }
  if (!err) {
    struct packet_mreq request;
    memset(&request, 0, sizeof(request));
    request.mr_ifindex = (int)index;
    request.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &request, sizeof(request)) < 0) err = errno;
  }
  if (err) {
    close(fd);
    return -err;
  }
  if (ifindex) *ifindex = (int)index;
  return fd;
}

enum { PB_BATCH_MAX = 64, PB_VNET_HDR_LEN = 10 };

int pb_packet_receive_batch(int fd, pb_rx_slot *slots, int count, unsigned int headroom) {
  struct mmsghdr messages[PB_BATCH_MAX];
  struct iovec vectors[PB_BATCH_MAX];
  // Room for one PACKET_AUXDATA control message per frame.
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  } control[PB_BATCH_MAX];
  if (count > PB_BATCH_MAX) count = PB_BATCH_MAX;
  if (headroom < PB_VNET_HDR_LEN) return -EINVAL;
  memset(messages, 0, sizeof(messages[0]) * (size_t)count);
  for (int i = 0; i < count; i++) {
    vectors[i].iov_base = slots[i].data + headroom - PB_VNET_HDR_LEN;
    vectors[i].iov_len = slots[i].capacity - (headroom - PB_VNET_HDR_LEN);
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
    messages[i].msg_hdr.msg_control = control[i].bytes;
    messages[i].msg_hdr.msg_controllen = sizeof(control[i].bytes);
  }
  int received = recvmmsg(fd, messages, (unsigned int)count, MSG_DONTWAIT, NULL);
  if (received < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  for (int i = 0; i < received; i++) {
    unsigned int length = messages[i].msg_len;
    slots[i].frame_offset = headroom;
    slots[i].frame_length = length >= PB_VNET_HDR_LEN ? length - PB_VNET_HDR_LEN : 0;
    slots[i].tag_status = 0;
    slots[i].tag_tpid = 0;
    slots[i].tag_control = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&messages[i].msg_hdr); c;
         c = CMSG_NXTHDR(&messages[i].msg_hdr, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      struct tpacket_auxdata aux;
      memcpy(&aux, CMSG_DATA(c), sizeof(aux));
      if (!(aux.tp_status & TP_STATUS_VLAN_VALID)) continue;
      // Reported as the kernel gave it; the Swift side puts the tag back.
      slots[i].tag_status = PB_RX_TAG_VALID |
                            ((aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? PB_RX_TAG_TPID_VALID : 0);
      slots[i].tag_tpid = aux.tp_vlan_tpid;
      slots[i].tag_control = aux.tp_vlan_tci;
    }
  }
  return received;
}

#include <stdlib.h>

struct pb_tx_queue {
  int capacity;
  int count;
  struct mmsghdr messages[PB_BATCH_MAX];
  struct iovec vectors[PB_BATCH_MAX][4];
  unsigned char headers[PB_BATCH_MAX][PB_VNET_HDR_LEN];
  unsigned char tags[PB_BATCH_MAX][4];
  unsigned int lengths[PB_BATCH_MAX];
};

pb_tx_queue *pb_tx_queue_create(int capacity) {
  if (capacity < 1 || capacity > PB_BATCH_MAX) return NULL;
  pb_tx_queue *queue = calloc(1, sizeof(*queue));
  if (queue) queue->capacity = capacity;
  return queue;
}

void pb_tx_queue_destroy(pb_tx_queue *queue) { free(queue); }

int pb_tx_queue_count(const pb_tx_queue *queue) { return queue->count; }

int pb_tx_queue_is_full(const pb_tx_queue *queue) { return queue->count >= queue->capacity; }

int pb_tx_queue_add(pb_tx_queue *queue, const void *header, const void *addresses,
                    const void *tag, int has_tag, const void *rest, unsigned int rest_length) {
  if (queue->count >= queue->capacity) return -1;
  int i = queue->count++;
  memcpy(queue->headers[i], header, PB_VNET_HDR_LEN);
  struct iovec *v = queue->vectors[i];
  int parts = 0;
  v[parts].iov_base = queue->headers[i];
  v[parts++].iov_len = PB_VNET_HDR_LEN;
  v[parts].iov_base = (void *)addresses;
  v[parts++].iov_len = 12;
  if (has_tag) {
    memcpy(queue->tags[i], tag, 4);
    v[parts].iov_base = queue->tags[i];
    v[parts++].iov_len = 4;
  }
  v[parts].iov_base = (void *)rest;
  v[parts++].iov_len = rest_length;
  memset(&queue->messages[i], 0, sizeof(queue->messages[i]));
  queue->messages[i].msg_hdr.msg_iov = v;
  queue->messages[i].msg_hdr.msg_iovlen = (size_t)parts;
  queue->lengths[i] = 12 + (has_tag ? 4 : 0) + rest_length;
  return 0;
}

int pb_tx_queue_flush(int fd, pb_tx_queue *queue, unsigned int *sent_lengths, int *error) {
  int sent = 0;
  *error = 0;
  while (sent < queue->count) {
    int n = sendmmsg(fd, queue->messages + sent, (unsigned int)(queue->count - sent), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = errno;
      break;
    }
    if (n == 0) break;
    sent += n;
  }
  for (int i = 0; i < sent; i++) sent_lengths[i] = queue->lengths[i];
  queue->count = 0;
  return sent;
}

#include <spawn.h>
#include <poll.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <grp.h>

extern char **environ;

int pb_spawn_io(char *const argv[], int input_fd, int output_fd, int error_fd) {
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_t actions;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  int err = posix_spawnattr_init(&attributes);
  if (err != 0) return -err;
  err = posix_spawn_file_actions_init(&actions);
  if (err != 0) {
    posix_spawnattr_destroy(&attributes);
    return -err;
  }
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setpgroup(&attributes, 0);
  if (input_fd < 0) {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  } else {
    posix_spawn_file_actions_adddup2(&actions, input_fd, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, output_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, error_fd, 2);
  pid_t pid = 0;
  err = posix_spawn(&pid, argv[0], &actions, &attributes, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  return err == 0 ? (int)pid : -err;
}

int pb_spawn(char *const argv[], int output_fd) {
  return pb_spawn_io(argv, -1, output_fd, output_fd);
}

// Appends what is readable on `fd` to the growing buffer; returns 0 at end of file.
static ssize_t pb_drain(int fd, char **buffer, size_t *length, size_t *capacity) {
  if (*capacity - *length < 4096) {
    size_t grown = *capacity * 2 + 4096;
    char *bigger = realloc(*buffer, grown);
    if (bigger == NULL) return -ENOMEM;
    *buffer = bigger;
    *capacity = grown;
  }
  ssize_t count = read(fd, *buffer + *length, *capacity - *length - 1);
  if (count > 0) {
    *length += (size_t)count;
    (*buffer)[*length] = 0;
  }
  return count < 0 ? -errno : count;
}

int pb_run_capture(char *const argv[], char **output, char **errors, int *status) {
  int out_pipe[2], err_pipe[2];
  *output = NULL;
  *errors = NULL;
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return -errno;
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    return -err;
  }
  int pid = pb_spawn_io(argv, -1, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return pid;
  }
  size_t out_length = 0, out_capacity = 0, err_length = 0, err_capacity = 0;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_count = 2;
  // Both pipes are read as they fill, so neither can stall the child.
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int index = 0; index < 2; index++) {
      if (fds[index].fd < 0 || fds[index].revents == 0) continue;
      ssize_t count = index == 0 ? pb_drain(fds[index].fd, output, &out_length, &out_capacity)
                                 : pb_drain(fds[index].fd, errors, &err_length, &err_capacity);
      if (count == -EINTR || count == -EAGAIN) continue;
      if (count <= 0) {
        close(fds[index].fd);
        fds[index].fd = -1;
        open_count--;
      }
    }
  }
  for (int index = 0; index < 2; index++) {
    if (fds[index].fd >= 0) close(fds[index].fd);
  }
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  *status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  return 0;
}

int pb_restrict_capabilities(uint64_t keep) {
  // No execve from here on may gain privileges (setuid bits, file capabilities).
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return -errno;
  }
  // The bounding set first: dropping from it needs CAP_SETPCAP, which capset removes.
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -errno;
  }
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = (uint32_t)keep;
  data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
  if (syscall(SYS_capset, &header, data) != 0) return -errno;
  return 0;
}

int pb_set_file_owner(uint32_t uid, uint32_t gid) {
  // setfs*id return the previous id, not an error: check by asking again.
  setfsgid(gid);
  setfsuid(uid);
  if ((uint32_t)setfsuid((uid_t)-1) != uid || (uint32_t)setfsgid((gid_t)-1) != gid) return -EPERM;
  return 0;
}


// Sets the calling thread's capability sets to `effective` and `permitted`
// (bit N = capability N), inheritable empty.
static int pb_set_capabilities(uint64_t effective, uint64_t permitted) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = (uint32_t)effective;
  data[1].effective = (uint32_t)(effective >> 32);
  data[0].permitted = (uint32_t)permitted;
  data[1].permitted = (uint32_t)(permitted >> 32);
  return syscall(SYS_capset, &header, data) == 0 ? 0 : -errno;
}

int pb_become_user(uint32_t uid, uint32_t gid, uint64_t keep, int64_t file_uid, int64_t file_gid) {
  const uint64_t set_ids = 1ULL << CAP_SETUID | 1ULL << CAP_SETGID;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return -errno;
  }
  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes below.
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -errno;
  }
  // Leaving uid 0 empties the permitted set unless this thread keeps it
  // (securebits are per thread, like the ids below).
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return -errno;
  // The raw system calls change this thread alone: glibc's wrappers would
  // change every thread at once, before the others kept their capabilities.
  if (syscall(SYS_setgroups, 0, NULL) != 0) return -errno;
  if (syscall(SYS_setresgid, gid, gid, gid) != 0) return -errno;
  if (syscall(SYS_setresuid, uid, uid, uid) != 0) return -errno;
  // The effective set is empty now; the file ids (which setresuid just made
  // `uid`) can change to another owner only with CAP_SETUID and CAP_SETGID.
  if (file_uid >= 0 && file_gid >= 0) {
    int err = pb_set_capabilities(set_ids, keep | set_ids);
    if (err != 0) return err;
    setfsgid((gid_t)file_gid);
    setfsuid((uid_t)file_uid);
    if ((int64_t)setfsuid((uid_t)-1) != file_uid || (int64_t)setfsgid((gid_t)-1) != file_gid) {
      return -EPERM;
    }
  }
  int err = pb_set_capabilities(keep, keep);
  if (err != 0) return err;
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return -errno;
  // Not dumpable: no process of the same user (a guest's QEMU) may ptrace
  // this one or read its memory. Set for the whole process; the uid change
  // did it too, but that depends on the sysctl fs.suid_dumpable.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return -errno;
  uid_t real, effective, saved;
  if (getresuid(&real, &effective, &saved) != 0) return -errno;
  if (real != uid || effective != uid || saved != uid) return -EPERM;
  return 0;
}

void pb_file_owner(uint32_t *uid, uint32_t *gid) {
  // An invalid id changes nothing and returns the current one.
  *uid = (uint32_t)setfsuid((uid_t)-1);
  *gid = (uint32_t)setfsgid((gid_t)-1);
}


int pb_packet_join_fanout(int fd, int group) {
  // Hash fanout: the kernel gives each flow's frames to one socket of the group.
  int value = (group & 0xFFFF) | (PACKET_FANOUT_HASH << 16);
  return setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &value, sizeof(value)) < 0 ? -errno : 0;
}


int pb_thread_set_name(const char *name) {
  return -pthread_setname_np(pthread_self(), name);
}
