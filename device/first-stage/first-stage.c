/*
 * kiln's first stage: PID 1 of a UKI built with `layout: source` (the Sourcery layout).
 *
 * The UKI of that layout carries only the kernel, the modules it takes to reach the boot stick, and this
 * program. It loads those modules, finds the filesystem with one of the LABELs the build wrote into
 * /etc/kiln/first-stage that holds the build's stamp, mounts it read-only at the configured point, and executes
 * Node from it with kiln's TypeScript init: the initramfs's symbolic links (/usr/bin/node, /usr/lib/kiln, /src,
 * the shared libraries) point into that mount.
 *
 * Why a tiny freestanding C program and not Debian's static busybox: busybox would need a shell script (or its
 * init and an inittab) to chain modprobe, findfs, mount and exec, and kiln's boot path has no shell scripts; its
 * 1.1 MB also buys nothing the dozen system calls below do not. Why no libc: the program is compiled at build time
 * for each architecture by the host's C compiler (cc, aarch64-linux-gnu-gcc), and a freestanding binary needs
 * neither a static libc for the target nor anything at run time: a few KB of code, x86_64 and aarch64 from one file.
 *
 * /etc/kiln/first-stage, one directive per line (written by firstStageConfig in src/rootfs/source-root.ts):
 *   label KILN_A                   a filesystem label to look for (FAT12/16/32 or ext2/3/4); up to 8 such lines,
 *   label KILN_B                   any of them will do: with A/B update slots the tree may be on either slot, or
 *   label ESP                      on the ESP when the device boots its fallback
 *   mount /source vfat             where to mount it, and as what (always read-only)
 *   wait 120                       seconds to look for it before giving up (the kernel then reboots: panic=-1)
 *   stamp linux_amd64/kiln-build 1a2b...   optional: a candidate counts only if this file (relative to its root)
 *                                  holds exactly the rest of the line (one trailing newline tolerated). The same
 *                                  UKI boots from either slot or the fallback, and it must run the tree of its own
 *                                  build, not the other slot's older or newer one: the stamp is the build id, and
 *                                  the labels alone cannot tell the slots' trees apart
 *   module /lib/modules/.../x.ko   load, in this order (dependencies first); "already loaded" is fine
 *   exec /usr/bin/node /usr/lib/kiln/device/init/main.ts   the program that becomes PID 1, with its arguments
 */

typedef unsigned long size_t;

#define AT_FDCWD (-100)
#define O_RDONLY 0 /* O_DIRECTORY is left out: its value differs between x86_64 and aarch64 */
#define O_CLOEXEC 02000000
#define MS_RDONLY 1
#define MS_NOSUID 2
#define MS_NODEV 4
#define MNT_DETACH 2
#define EEXIST 17
#define ENOENT 2

#if defined(__x86_64__)
enum { SYS_read = 0, SYS_write = 1, SYS_close = 3, SYS_nanosleep = 35, SYS_execve = 59, SYS_exit = 60, SYS_mount = 165,
       SYS_umount2 = 166, SYS_getdents64 = 217, SYS_openat = 257, SYS_mkdirat = 258, SYS_finit_module = 313 };
static long syscall6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return ret;
}
/* The kernel enters with the stack holding argc, argv[], NULL, envp[], NULL. */
__asm__(".globl _start\n_start:\n  xor %rbp, %rbp\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call start_c\n  hlt\n");
#elif defined(__aarch64__)
enum { SYS_mkdirat = 34, SYS_umount2 = 39, SYS_mount = 40, SYS_openat = 56, SYS_close = 57, SYS_getdents64 = 61,
       SYS_read = 63, SYS_write = 64, SYS_exit = 93, SYS_nanosleep = 101, SYS_execve = 221, SYS_finit_module = 273 };
static long syscall6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
}
__asm__(".globl _start\n_start:\n  mov x0, sp\n  bl start_c\n  b .\n");
#else
#error "kiln's first stage knows x86_64 and aarch64"
#endif

#define sys(n, a, b, c) syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* gcc may emit calls to these even in freestanding code. */
void *memset(void *d, int c, size_t n) {
  unsigned char *p = d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}
void *memcpy(void *d, const void *s, size_t n) {
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--) *p++ = *q++;
  return d;
}

static size_t len(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}
static int starts(const char *s, const char *prefix) {
  while (*prefix) if (*s++ != *prefix++) return 0;
  return 1;
}
/* Ends the word at `s` at its first space; returns what follows it, or 0 when there is no space. */
static char *split(char *s) {
  for (; *s; s++) if (*s == ' ') return *s = 0, s + 1;
  return 0;
}
/* Appends `s` to buf[0..n), never past `cap`; returns the new length. */
static size_t put(char *buf, size_t n, size_t cap, const char *s) {
  while (*s && n < cap) buf[n++] = *s++;
  return n;
}

/* Console output: the kernel opened /dev/console as fds 0-2 for us. A line is one write, so that the kernel's own
 * messages on the console cannot land in the middle of it. */
static void say_parts(const char *const *parts) {
  static char line[1024];
  size_t n = 0;
  while (*parts) n = put(line, n, sizeof line - 1, *parts++);
  line[n++] = '\n';
  sys(SYS_write, 1, line, n);
}
#define say(...) say_parts((const char *const[]){"kiln: first stage: ", __VA_ARGS__, 0})

static char *decimal(long v, char *buf) {
  char tmp[24];
  int i = 0, j = 0;
  if (v < 0) buf[j++] = '-', v = -v;
  do tmp[i++] = (char)('0' + v % 10), v /= 10; while (v);
  while (i) buf[j++] = tmp[--i];
  buf[j] = 0;
  return buf;
}
static void fail(const char *what, const char *name, long err) {
  char num[24];
  say(what, name ? name : "", ": errno ", decimal(-err, num));
}

static void sleep_ms(long ms) {
  long ts[2] = {ms / 1000, (ms % 1000) * 1000000};
  sys(SYS_nanosleep, ts, 0, 0);
}

#define MAX_LABELS 8
static char config[8192];
static char *labels[MAX_LABELS];
static int label_count;
static char *mount_point, *fstype, *stamp_path, *stamp_content, *exec_line;
static long wait_seconds = 120;
/* What the search is for, for the messages: "KILN_A, KILN_B or ESP holding linux_amd64/kiln-build = 1a2b...". */
static char wanted[1024];
/* <mount point>/<stamp path>, and room to read the stamp file: one byte more than the stamp and its newline, so
 * that a longer file is seen to be longer. */
static char stamp_file[512], stamp_read[512];

static long parse_long(const char *s) {
  long v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v;
}

static void load_module(const char *path) {
  long fd = sys(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail("cannot open module ", path, fd);
    return;
  }
  long r = syscall6(SYS_finit_module, fd, (long)"", 0, 0, 0, 0);
  sys(SYS_close, fd, 0, 0);
  if (r < 0 && r != -EEXIST) fail("cannot load module ", path, r);
}

/* Reads the directives; loads modules as they come so that their order is the file's. */
static int read_config(void) {
  long fd = sys(SYS_openat, AT_FDCWD, "/etc/kiln/first-stage", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("cannot open /etc/kiln/first-stage", 0, fd), 0;
  long n = sys(SYS_read, fd, config, sizeof config - 1);
  sys(SYS_close, fd, 0, 0);
  if (n <= 0) return fail("cannot read /etc/kiln/first-stage", 0, n), 0;
  config[n] = 0;
  for (char *line = config; *line;) {
    char *end = line;
    while (*end && *end != '\n') end++;
    char *next = *end ? end + 1 : end;
    *end = 0;
    /* An empty label would match every filesystem that has none. */
    if (starts(line, "label ") && line[6]) {
      if (label_count < MAX_LABELS) labels[label_count++] = line + 6;
      else say("more than 8 labels in /etc/kiln/first-stage; ignoring ", line + 6);
    } else if (starts(line, "mount ")) fstype = split(mount_point = line + 6);
    else if (starts(line, "wait ")) wait_seconds = parse_long(line + 5);
    else if (starts(line, "stamp ")) stamp_content = split(stamp_path = line + 6);
    else if (starts(line, "module ")) load_module(line + 7);
    else if (starts(line, "exec ")) exec_line = line + 5;
    line = next;
  }
  if (!label_count || !mount_point || !fstype || !exec_line) return say("/etc/kiln/first-stage lacks label, mount or exec"), 0;
  if (stamp_path) {
    if (!stamp_content || !*stamp_content || len(stamp_content) > sizeof stamp_read - 2 ||
        len(mount_point) + len(stamp_path) > sizeof stamp_file - 2)
      return say("/etc/kiln/first-stage: stamp needs a path and content (", stamp_path, ")"), 0;
    size_t k = put(stamp_file, 0, sizeof stamp_file, mount_point);
    put(stamp_file, put(stamp_file, k, sizeof stamp_file, "/"), sizeof stamp_file, stamp_path);
  }
  size_t w = 0;
  for (int i = 0; i < label_count; i++) {
    if (i) w = put(wanted, w, sizeof wanted - 1, i == label_count - 1 ? " or " : ", ");
    w = put(wanted, w, sizeof wanted - 1, labels[i]);
  }
  if (stamp_path) {
    const char *parts[] = {" holding ", stamp_path, " = ", stamp_content};
    for (int i = 0; i < 4; i++) w = put(wanted, w, sizeof wanted - 1, parts[i]);
  }
  return 1;
}

/* True when the `size` bytes at `field` hold `label` padded with spaces or NULs (FAT labels are upper case). */
static int label_is(const unsigned char *field, size_t size, const char *want) {
  size_t i = 0;
  for (; want[i]; i++) if (i >= size || field[i] != (unsigned char)want[i]) return 0;
  for (; i < size; i++) if (field[i] != ' ' && field[i] != 0) return 0;
  return 1;
}

static unsigned char sector[2048];

/* Which of the labels does /dev/<name> hold, if any? FAT32 keeps the label at 71, FAT12/16 at 43, ext* at 1144.
 * Leaves the device's first sectors in `sector`. */
static const char *label_of(const char *dev) {
  long fd = sys(SYS_openat, AT_FDCWD, dev, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  long n = sys(SYS_read, fd, sector, sizeof sector);
  sys(SYS_close, fd, 0, 0);
  if (n < (long)sizeof sector) return 0;
  int boot_sector = sector[510] == 0x55 && sector[511] == 0xaa;
  int fat32 = boot_sector && starts((const char *)sector + 82, "FAT32");
  int fat16 = boot_sector && starts((const char *)sector + 54, "FAT1");
  int ext = sector[1024 + 56] == 0x53 && sector[1024 + 57] == 0xef;
  for (int i = 0; i < label_count; i++) {
    if ((fat32 && label_is(sector + 71, 11, labels[i])) || (fat16 && label_is(sector + 43, 11, labels[i])) ||
        (ext && label_is(sector + 1024 + 120, 16, labels[i])))
      return labels[i];
  }
  return 0;
}

/* 1 when the mounted candidate's stamp file holds exactly the stamp (or it and one newline), 0 when it holds
 * something else, -1 when it cannot be read (no such file: no kiln tree, or one from before stamps). */
static int holds_stamp(void) {
  long fd = sys(SYS_openat, AT_FDCWD, stamp_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long n = 0, r;
  while (n < (long)sizeof stamp_read && (r = sys(SYS_read, fd, stamp_read + n, sizeof stamp_read - n)) > 0) n += r;
  sys(SYS_close, fd, 0, 0);
  long want = (long)len(stamp_content);
  if (n == want + 1 && stamp_read[want] == '\n') n--;
  if (n != want) return 0;
  for (long i = 0; i < want; i++) if (stamp_read[i] != stamp_content[i]) return 0;
  return 1;
}

/* Candidates already turned down (another build's tree, or a mount that failed), so that the 100 ms rescans do not
 * mount them and say so again and again. Each is remembered by its name and its first sectors together: a stick
 * swapped for another in the same port gets the same name back and must be looked at afresh. */
static unsigned long rejected[32];
static int rejected_count;

static unsigned long fingerprint(const char *dev) {
  unsigned long h = 14695981039346656037UL; /* FNV-1a */
  for (const char *p = dev; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211UL;
  for (size_t i = 0; i < sizeof sector; i++) h = (h ^ sector[i]) * 1099511628211UL;
  return h;
}

static char dev_path[300];
static const char *found_label;

/* Mounts /dev/<name> read-only at the mount point if it carries one of the labels (and the stamp): 1 when it did. */
static int try_device(void) {
  const char *label = label_of(dev_path);
  if (!label) return 0;
  unsigned long print = fingerprint(dev_path);
  for (int i = 0; i < rejected_count && i < 32; i++) if (rejected[i] == print) return 0;
  /* Read-only: Node runs from it until power-off, so it could never be unmounted cleanly; a FAT that is never
   * written is never left dirty. Writable state belongs on the data partition. */
  long r = syscall6(SYS_mount, (long)dev_path, (long)mount_point, (long)fstype, MS_RDONLY | MS_NODEV | MS_NOSUID, 0, 0);
  if (r < 0) {
    char num[24];
    say("cannot mount ", dev_path, " (labelled ", label, "): errno ", decimal(-r, num), "; looking further");
  } else {
    int stamp = stamp_path ? holds_stamp() : 1;
    if (stamp > 0) return found_label = label, 1;
    if (syscall6(SYS_umount2, (long)mount_point, 0, 0, 0, 0, 0) < 0) syscall6(SYS_umount2, (long)mount_point, MNT_DETACH, 0, 0, 0, 0);
    if (stamp < 0) say(dev_path, " (labelled ", label, ") has no ", stamp_path, ", so not this firmware's tree; looking further");
    else say(dev_path, " (labelled ", label, ") holds another firmware's tree (", stamp_path, " is not ", stamp_content, "); looking further");
  }
  rejected[rejected_count++ % 32] = print;
  return 0;
}

/* Scans /sys/class/block once; mounts the first device that will do, its name left in dev_path. */
static int find_device(void) {
  static char dirents[4096];
  long dir = sys(SYS_openat, AT_FDCWD, "/sys/class/block", O_RDONLY | O_CLOEXEC);
  if (dir < 0) return 0;
  int found = 0;
  long n;
  while (!found && (n = sys(SYS_getdents64, dir, dirents, sizeof dirents)) > 0) {
    for (long off = 0; off < n && !found;) {
      /* struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[] */
      unsigned short reclen = *(unsigned short *)(dirents + off + 16);
      const char *name = dirents + off + 19;
      off += reclen;
      if (name[0] == '.' || len(name) > 200) continue;
      memcpy(dev_path, "/dev/", 5);
      memcpy(dev_path + 5, name, len(name) + 1);
      found = try_device();
    }
  }
  sys(SYS_close, dir, 0, 0);
  return found;
}

static char *exec_argv[16];

void start_c(long *sp) {
  long argc = sp[0];
  char **envp = (char **)(sp + 1 + argc + 1);
  sys(SYS_mkdirat, AT_FDCWD, "/dev", 0755);
  sys(SYS_mkdirat, AT_FDCWD, "/sys", 0755);
  /* Only for the search: the init mounts its own /dev and /sys, so both are detached again below. */
  long r = syscall6(SYS_mount, (long)"devtmpfs", (long)"/dev", (long)"devtmpfs", MS_NOSUID, (long)"mode=0755", 0);
  if (r < 0) fail("cannot mount /dev", 0, r);
  r = syscall6(SYS_mount, (long)"sysfs", (long)"/sys", (long)"sysfs", MS_NOSUID | MS_NODEV, 0, 0);
  if (r < 0) fail("cannot mount /sys", 0, r);
  if (!read_config()) sys(SYS_exit, 1, 0, 0);
  sys(SYS_mkdirat, AT_FDCWD, mount_point, 0755);

  long waited_ms = 0;
  while (!find_device()) {
    if (waited_ms >= wait_seconds * 1000) {
      say("no filesystem labelled ", wanted, " appeared: cannot start (the device reboots)");
      sys(SYS_exit, 1, 0, 0);
    }
    if (waited_ms > 0 && waited_ms % 10000 == 0) say("still waiting for a filesystem labelled ", wanted, " (plug in the boot stick?)");
    sleep_ms(100);
    waited_ms += 100;
  }
  char num[24];
  say(dev_path, " mounted read-only at ", mount_point, " (labelled ", found_label, ")");
  if (waited_ms > 0) say("waited for it (ms): ", decimal(waited_ms, num));
  syscall6(SYS_umount2, (long)"/sys", MNT_DETACH, 0, 0, 0, 0);
  syscall6(SYS_umount2, (long)"/dev", MNT_DETACH, 0, 0, 0, 0);

  int argn = 0;
  for (char *p = exec_line; p && argn < 15; p = split(p)) exec_argv[argn++] = p;
  exec_argv[argn] = 0;
  r = sys(SYS_execve, exec_argv[0], exec_argv, envp);
  fail("cannot execute ", exec_argv[0], r);
  sys(SYS_exit, 1, 0, 0);
}
