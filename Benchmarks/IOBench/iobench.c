/* iobench: forwarding-loop microbenchmark for Patchbay's port kinds (issue 21).
 *
 *   iobench forward tap|pkt VARIANT A B SECONDS   forward frames A -> B, print one result line
 *   iobench blast SRC DST                          flood 64-byte frames (UDP, 22-byte payload) to DST
 *   iobench hold ADDR                              bind UDP port 9 on ADDR with a tiny buffer, sleep
 *
 * tap: creates TAPs A and B (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR); pkt: AF_PACKET SOCK_RAW sockets
 * (PACKET_VNET_HDR, like the datapath) on existing links A and B. After the descriptors are
 * open it runs $IOBENCH_SETUP (moves the links, starts the load), warms up 0.5 s, then measures
 * SECONDS of wall time and the process's user+sys time (getrusage, all threads).
 * Variants: rw (epoll + read/write per frame), mmsg (epoll + recvmmsg/sendmmsg, 32),
 * uring (io_uring READ/WRITE, 32 in flight), fixed (READ_FIXED/WRITE_FIXED, registered buffers),
 * recvms (multishot RECV, provided buffer ring), readms (multishot READ, provided buffer ring).
 * Output: "RESULT kind variant frames seconds fps us_per_frame" or "UNSUPPORTED kind variant why".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#define OP_READ_MULTISHOT 49 /* IORING_OP_READ_MULTISHOT, kernel 6.7; liburing 2.3 predates it */

enum { QD = 32, BATCH = 32, FRAME = 2048, RING_BUFS = 256, BGID = 7 };

static const char *kind, *variant;
static int fd_a = -1, fd_b = -1;
static unsigned char bufs[RING_BUFS][FRAME] __attribute__((aligned(4096)));

static void die(const char *what) { fprintf(stderr, "iobench: %s: %s\n", what, strerror(errno)); exit(1); }
static void unsupported(const char *why, int err) {
  printf("UNSUPPORTED %s %s %s (%s)\n", kind, variant, why, strerror(err));
  fflush(stdout);
  exit(0);
}
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static double cpu(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

/* Measurement window: phase 0 warm-up, 1 measuring, 2 done. */
static double seconds, t_start, t0, c0, t_end;
static long frames, frames0;
static int phase;
static int tick(void) { /* call once per loop turn; returns 0 when done */
  double t = now();
  if (phase == 0 && t - t_start >= 0.5) { phase = 1; t0 = t; c0 = cpu(); frames0 = frames; }
  else if (phase == 1 && t - t0 >= seconds) {
    double c = cpu();
    long n = frames - frames0;
    t_end = t;
    printf("RESULT %s %s %ld %.3f %.0f %.3f\n", kind, variant, n, t - t0, n / (t - t0),
           n ? (c - c0) * 1e6 / n : 0.0);
    fflush(stdout);
    phase = 2;
    return 0;
  }
  if (t - t_start > seconds + 30) { fprintf(stderr, "iobench: no traffic\n"); exit(1); }
  return 1;
}

static int open_tap(const char *name, int nonblock) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
  if (fd < 0) die("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
  return fd;
}

static int open_packet(const char *name, int receive, int nonblock) {
  unsigned idx = if_nametoindex(name);
  if (!idx) die(name);
  int proto = receive ? htons(ETH_P_ALL) : 0; /* the output socket takes no frames */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), proto);
  if (fd < 0) die("socket(AF_PACKET)");
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) die("PACKET_VNET_HDR");
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) die("PACKET_IGNORE_OUTGOING");
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = proto, .sll_ifindex = (int)idx};
  if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) die("bind(AF_PACKET)");
  if (receive) {
    struct packet_mreq mr = {.mr_ifindex = (int)idx, .mr_type = PACKET_MR_PROMISC};
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) die("PROMISC");
  }
  return fd;
}

/* ---- epoll variants ---- */
static int epoll_on_a(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd_a, &ev) < 0) die("epoll");
  return ep;
}

static void run_rw(void) {
  int ep = epoll_on_a();
  struct epoll_event ev;
  while (tick()) {
    if (epoll_wait(ep, &ev, 1, 100) <= 0) continue;
    for (int i = 0; i < 64; i++) { /* drain like the datapath: up to 64 frames per wakeup */
      ssize_t n = read(fd_a, bufs[0], FRAME);
      if (n <= 0) break;
      if (write(fd_b, bufs[0], (size_t)n) > 0) frames++;
    }
  }
}

static void run_mmsg(void) {
  int ep = epoll_on_a();
  struct epoll_event ev;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  while (tick()) {
    if (epoll_wait(ep, &ev, 1, 100) <= 0) continue;
    for (int round = 0; round < 2; round++) { /* up to 64 frames per wakeup */
      memset(msgs, 0, sizeof(msgs));
      for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){bufs[i], FRAME};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(fd_a, msgs, BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0) break;
      for (int i = 0; i < n; i++) iov[i].iov_len = msgs[i].msg_len;
      int sent = 0;
      while (sent < n) {
        int s = sendmmsg(fd_b, msgs + sent, (unsigned)(n - sent), MSG_DONTWAIT);
        if (s <= 0) break; /* ENOBUFS: drop the rest */
        sent += s;
      }
      frames += sent;
      if (n < BATCH) break;
    }
  }
}

/* ---- io_uring ---- */
static struct io_uring ring;
static void ring_init(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (io_uring_queue_init_params(4 * QD + RING_BUFS, &ring, &p) == 0) return;
  memset(&p, 0, sizeof(p));
  p.flags = IORING_SETUP_COOP_TASKRUN;
  if (io_uring_queue_init_params(4 * QD + RING_BUFS, &ring, &p) == 0) return;
  int err = io_uring_queue_init(4 * QD + RING_BUFS, &ring, 0);
  if (err) { errno = -err; die("io_uring_queue_init"); }
}
static struct io_uring_sqe *sqe_get(void) {
  struct io_uring_sqe *s = io_uring_get_sqe(&ring);
  if (!s) { io_uring_submit(&ring); s = io_uring_get_sqe(&ring); }
  if (!s) { fprintf(stderr, "iobench: SQ full\n"); exit(1); }
  return s;
}
static int wait_some(struct io_uring_cqe **cqe) {
  struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 100000000};
  int r = io_uring_submit_and_wait_timeout(&ring, cqe, 1, &ts, NULL);
  return r < 0 && r != -ETIME && r != -EINTR ? r : 0;
}

enum { OP_RD = 0, OP_WR = 1 };
#define UD(op, idx) (((unsigned long long)(op) << 32) | (unsigned)(idx))

/* QD reads in flight on A; each completed read becomes a write to B, each write a new read. */
static void run_uring(int fixed) {
  ring_init();
  if (fixed) {
    struct iovec iov[QD];
    for (int i = 0; i < QD; i++) iov[i] = (struct iovec){bufs[i], FRAME};
    int r = io_uring_register_buffers(&ring, iov, QD);
    if (r) unsupported("io_uring_register_buffers", -r);
  }
  for (int i = 0; i < QD; i++) {
    struct io_uring_sqe *s = sqe_get();
    if (fixed) io_uring_prep_read_fixed(s, fd_a, bufs[i], FRAME, 0, i);
    else io_uring_prep_read(s, fd_a, bufs[i], FRAME, 0);
    io_uring_sqe_set_data64(s, UD(OP_RD, i));
  }
  while (tick()) {
    struct io_uring_cqe *cqe;
    int r = wait_some(&cqe);
    if (r) { errno = -r; die("io_uring wait"); }
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      unsigned long long ud = cqe->user_data;
      int op = (int)(ud >> 32), i = (int)(ud & 0xffffffff);
      struct io_uring_sqe *s = sqe_get();
      if (op == OP_RD && cqe->res > 0) {
        if (fixed) io_uring_prep_write_fixed(s, fd_b, bufs[i], (unsigned)cqe->res, 0, i);
        else io_uring_prep_write(s, fd_b, bufs[i], (unsigned)cqe->res, 0);
        io_uring_sqe_set_data64(s, UD(OP_WR, i));
      } else {
        if (op == OP_RD && cqe->res != -EAGAIN && cqe->res != -EINTR)
          unsupported(fixed ? "READ_FIXED" : "READ", -cqe->res);
        if (op == OP_WR && cqe->res > 0) frames++;
        if (fixed) io_uring_prep_read_fixed(s, fd_a, bufs[i], FRAME, 0, i);
        else io_uring_prep_read(s, fd_a, bufs[i], FRAME, 0);
        io_uring_sqe_set_data64(s, UD(OP_RD, i));
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
}

/* One multishot receive (RECV or READ) on A with a provided buffer ring; each CQE names a
 * buffer, which is written to B and handed back to the ring when the write completes. */
static void run_multishot(int use_read) {
  ring_init();
  struct io_uring_buf_ring *br;
  if (posix_memalign((void **)&br, 4096, RING_BUFS * sizeof(struct io_uring_buf))) die("memalign");
  memset(br, 0, RING_BUFS * sizeof(struct io_uring_buf));
  struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = RING_BUFS, .bgid = BGID};
  int r = io_uring_register_buf_ring(&ring, &reg, 0);
  if (r) unsupported("io_uring_register_buf_ring", -r);
  io_uring_buf_ring_init(br);
  int mask = io_uring_buf_ring_mask(RING_BUFS);
  for (int i = 0; i < RING_BUFS; i++) io_uring_buf_ring_add(br, bufs[i], FRAME, (unsigned short)i, mask, i);
  io_uring_buf_ring_advance(br, RING_BUFS);
  int armed = 0;
  while (tick()) {
    if (!armed) {
      struct io_uring_sqe *s = sqe_get();
      if (use_read) io_uring_prep_rw(OP_READ_MULTISHOT, s, fd_a, NULL, 0, 0);
      else io_uring_prep_recv_multishot(s, fd_a, NULL, 0, 0);
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = BGID;
      io_uring_sqe_set_data64(s, UD(OP_RD, 0));
      armed = 1;
    }
    struct io_uring_cqe *cqe;
    r = wait_some(&cqe);
    if (r) { errno = -r; die("io_uring wait"); }
    unsigned head, seen = 0, returned = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      int op = (int)(cqe->user_data >> 32);
      if (op == OP_RD) {
        if (!(cqe->flags & IORING_CQE_F_MORE)) armed = 0;
        if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
          int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
          struct io_uring_sqe *s = sqe_get();
          io_uring_prep_write(s, fd_b, bufs[bid], (unsigned)cqe->res, 0);
          io_uring_sqe_set_data64(s, UD(OP_WR, bid));
        } else if (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -EAGAIN && cqe->res != -EINTR) {
          unsupported(use_read ? "IORING_OP_READ_MULTISHOT" : "io_uring_prep_recv_multishot", -cqe->res);
        }
      } else {
        if (cqe->res > 0) frames++;
        int bid = (int)(cqe->user_data & 0xffffffff);
        io_uring_buf_ring_add(br, bufs[bid], FRAME, (unsigned short)bid, mask, (int)returned++);
      }
    }
    if (returned) io_uring_buf_ring_advance(br, (int)returned);
    io_uring_cq_advance(&ring, seen);
  }
}

/* ---- load ---- */
static void blast(const char *src, const char *dst) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(4000)};
  struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(9)};
  inet_pton(AF_INET, src, &s.sin_addr);
  inet_pton(AF_INET, dst, &d.sin_addr);
  if (fd < 0 || bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0 || connect(fd, (struct sockaddr *)&d, sizeof(d)) < 0)
    die("blast socket");
  static char payload[22]; /* 14 Ethernet + 20 IPv4 + 8 UDP + 22 = 64-byte frames */
  struct mmsghdr m[BATCH];
  struct iovec iov = {payload, sizeof(payload)};
  memset(m, 0, sizeof(m));
  for (int i = 0; i < BATCH; i++) { m[i].msg_hdr.msg_iov = &iov; m[i].msg_hdr.msg_iovlen = 1; }
  for (;;) sendmmsg(fd, m, BATCH, 0); /* drops (ENOBUFS, full queues) are the point */
}
static void hold(const char *addr) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int small = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
  inet_pton(AF_INET, addr, &a.sin_addr);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) die("hold socket");
  for (;;) pause(); /* frames reach the receiving host's UDP socket and are dropped there */
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "blast")) blast(argv[2], argv[3]);
  if (argc == 3 && !strcmp(argv[1], "hold")) hold(argv[2]);
  if (argc != 7 || strcmp(argv[1], "forward")) {
    fprintf(stderr, "usage: iobench forward tap|pkt rw|mmsg|uring|fixed|recvms|readms A B SECONDS\n"
                    "       iobench blast SRC DST | iobench hold ADDR\n");
    return 2;
  }
  kind = argv[2];
  variant = argv[3];
  seconds = atof(argv[6]);
  int epoll_variant = !strcmp(variant, "rw") || !strcmp(variant, "mmsg");
  if (!strcmp(kind, "tap")) {
    fd_a = open_tap(argv[4], epoll_variant);
    fd_b = open_tap(argv[5], epoll_variant);
  } else if (!strcmp(kind, "pkt")) {
    fd_a = open_packet(argv[4], 1, epoll_variant);
    fd_b = open_packet(argv[5], 0, epoll_variant);
  } else return 2;
  const char *setup = getenv("IOBENCH_SETUP");
  if (setup && system(setup) != 0) { fprintf(stderr, "iobench: setup failed\n"); return 1; }
  t_start = now();
  if (!strcmp(variant, "rw")) run_rw();
  else if (!strcmp(variant, "mmsg")) run_mmsg();
  else if (!strcmp(variant, "uring")) run_uring(0);
  else if (!strcmp(variant, "fixed")) run_uring(1);
  else if (!strcmp(variant, "recvms")) run_multishot(0);
  else if (!strcmp(variant, "readms")) run_multishot(1);
  else return 2;
  return 0;
}
