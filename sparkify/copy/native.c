/*
 * sparkify native converter: newline-delimited JSON objects -> PostgreSQL COPY text rows.
 *
 * An optional accelerator of sparkify.copy.rows, built by the install step (`make build`, which runs
 * tools/build_native.py) into sparkify/copy/_native.so and loaded by native.py from there only.
 * It converts only the lines it is sure about and DECLINES every other line, which the Python path
 * (the reference: sparkify.copy.rows and sparkify.copy.convert) then handles exactly as it would have
 * without this file. It accepts a line only if:
 *   - the line is one JSON object of scalar members (strings, numbers, true, false, null), valid JSON
 *     (strict number grammar, valid escapes, valid UTF-8, no raw control characters), at most 4 MB,
 *     optional whitespace around it; no member that maps to a column appears twice;
 *   - every column's value is one the column takes without a rejection and without an option whose
 *     effect the C code does not reproduce (see convert_value()).
 * Anything else (a nested value, a missing not-null value, an out-of-range number, a string that is too
 * long, a number into a VARCHAR, a \u0000 or a lone surrogate, a byte-order mark...) is declined.
 *
 * Output per row: the fields in column order, separated by tabs, NULL as the byte 0x02 (the emulator's
 * NULL marker), strings escaped for COPY text format (backslash, tab, newline, carriage return; a
 * value that is exactly 0x02 is written as \x02), the row ended by a newline.
 */
#define _DEFAULT_SOURCE  /* d_type, DT_DIR */
#define _GNU_SOURCE  /* openat, O_DIRECTORY, O_CLOEXEC on older C libraries */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* The SHA-256 of this file, passed by the build (-DSPARKIFY_SOURCE_HASH="..."): native.py loads a library
 * only if it was built from the native.c beside it (a `git pull` that changed this file needs `make build`). */
#ifndef SPARKIFY_SOURCE_HASH
#error "build this file with tools/build_native.py (make build): it defines SPARKIFY_SOURCE_HASH"
#endif
#define SOURCE_HASH_MARKER "sparkify-native-source-sha256:" SPARKIFY_SOURCE_HASH

const char *sparkify_source_hash(void) { return SOURCE_HASH_MARKER; }

enum { K_VARCHAR = 1, K_INT2 = 2, K_INT4 = 3, K_INT8 = 4, K_FLOAT8 = 5, K_TS_MS = 6, K_BOOL = 7 };
enum { V_MISSING = 0, V_STR, V_INT, V_NUM, V_TRUE, V_FALSE, V_NULL };
enum { ST_DONE = 0, ST_DECLINED = 1, ST_FULL = 2 };

#define MAX_COLS 256
#define MAX_LINE (4 * 1024 * 1024)
#define MS_LO (-62135596800000LL)
#define MS_HI (253402300799999LL)

typedef struct {
    int ncols;
    const char *keys;     /* all keys, concatenated */
    const int *key_off;   /* offset of key i in keys */
    const int *key_len;
    const int *kind;
    const long *maxlen;   /* VARCHAR: max bytes, -1 unlimited */
    const int *not_null;
    int emptyasnull;
    int blanksasnull;
} spec_t;

typedef struct {
    int type;
    int esc;              /* string: has backslash escapes */
    const unsigned char *p;
    long n;
} val_t;

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Length of a valid UTF-8 sequence starting at p (lead byte >= 0x80), or 0 if invalid. */
static int utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (end - p < 2 || (p[1] & 0xC0) != 0x80) return 0;
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && p[1] >= 0xA0) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;  /* overlong */
        if (c == 0xF4 && p[1] >= 0x90) return 0; /* beyond U+10FFFF */
        return 4;
    }
    return 0;
}

static int hex4(const unsigned char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return 0;
    }
    *out = v;
    return 1;
}

/* 1 for the bytes that end a run of plain string content: '"', '\\', control characters, non-ASCII. */
static const unsigned char SPECIAL[256] = {
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
};

/* Scan a JSON string whose opening quote is at *pp; on success *pp is past the closing quote. */
static int scan_string(const unsigned char **pp, const unsigned char *end, val_t *v) {
    const unsigned char *p = *pp + 1;
    v->p = p;
    v->esc = 0;
    while (p < end) {
        while (p < end && !SPECIAL[*p]) p++;
        if (p >= end) break;
        unsigned char c = *p;
        if (c == '"') {
            v->n = p - v->p;
            v->type = V_STR;
            *pp = p + 1;
            return 1;
        }
        if (c == '\\') {
            v->esc = 1;
            if (p + 1 >= end) return 0;
            unsigned char e = p[1];
            if (e == 'u') {
                unsigned cp;
                if (end - p < 6 || !hex4(p + 2, &cp)) return 0;
                if (cp == 0) return 0;                       /* NUL: declined */
                if (cp >= 0xDC00 && cp <= 0xDFFF) return 0;  /* lone low surrogate */
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || !hex4(p + 8, &lo)) return 0;
                    if (lo < 0xDC00 || lo > 0xDFFF) return 0;
                    p += 12;
                } else {
                    p += 6;
                }
                continue;
            }
            if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                p += 2;
                continue;
            }
            return 0;
        }
        if (c < 0x20) return 0;
        if (c >= 0x80) {
            int n = utf8_len(p, end);
            if (!n) return 0;
            p += n;
            continue;
        }
        p++;
    }
    return 0;
}

/* Strict JSON number at *pp; type V_INT (no fraction, no exponent) or V_NUM (a fraction, no exponent).
 * Numbers with an exponent are declined. */
static int scan_number(const unsigned char **pp, const unsigned char *end, val_t *v) {
    const unsigned char *p = *pp;
    v->p = p;
    if (p < end && *p == '-') p++;
    if (p >= end) return 0;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return 0;
    }
    v->type = V_INT;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !(*p >= '0' && *p <= '9')) return 0;
        while (p < end && *p >= '0' && *p <= '9') p++;
        v->type = V_NUM;
    }
    if (p < end && (*p == 'e' || *p == 'E')) return 0;
    v->n = p - v->p;
    if (v->n > 64) return 0;
    *pp = p;
    return 1;
}

static int parse_int64(const val_t *v, long long *out) {
    const unsigned char *p = v->p, *end = v->p + v->n;
    int neg = 0;
    if (p < end && *p == '-') { neg = 1; p++; }
    if (end - p > 18 || end == p) return 0;
    long long x = 0;
    for (; p < end; p++) x = x * 10 + (*p - '0');
    *out = neg ? -x : x;
    return 1;
}

/* Decoded content of a string value written to o with COPY text escaping; returns the new o.
 * *bytes receives the decoded length in bytes. The string was validated by scan_string(). */
static unsigned char *write_string(unsigned char *o, const val_t *v, long *bytes) {
    const unsigned char *p = v->p, *end = v->p + v->n;
    long n = 0;
    if (!v->esc) {  /* (raw control characters were declined: nothing to escape) */
        memcpy(o, p, (size_t)v->n);
        *bytes = v->n;
        return o + v->n;
    }
    while (p < end) {
        unsigned char c = *p;
        if (c != '\\') { *o++ = c; p++; n++; continue; }
        unsigned char e = p[1];
        unsigned cp;
        switch (e) {
            case '"': *o++ = '"'; p += 2; n++; continue;
            case '/': *o++ = '/'; p += 2; n++; continue;
            case '\\': *o++ = '\\'; *o++ = '\\'; p += 2; n++; continue;
            case 'b': *o++ = 0x08; p += 2; n++; continue;
            case 'f': *o++ = 0x0c; p += 2; n++; continue;
            case 'n': *o++ = '\\'; *o++ = 'n'; p += 2; n++; continue;
            case 'r': *o++ = '\\'; *o++ = 'r'; p += 2; n++; continue;
            case 't': *o++ = '\\'; *o++ = 't'; p += 2; n++; continue;
            default: break;
        }
        hex4(p + 2, &cp);
        p += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            hex4(p + 2, &lo);
            p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == '\t') { *o++ = '\\'; *o++ = 't'; n++; }
        else if (cp == '\n') { *o++ = '\\'; *o++ = 'n'; n++; }
        else if (cp == '\r') { *o++ = '\\'; *o++ = 'r'; n++; }
        else if (cp == '\\') { *o++ = '\\'; *o++ = '\\'; n++; }
        else if (cp < 0x80) { *o++ = (unsigned char)cp; n++; }
        else if (cp < 0x800) { *o++ = 0xC0 | (cp >> 6); *o++ = 0x80 | (cp & 0x3F); n += 2; }
        else if (cp < 0x10000) {
            *o++ = 0xE0 | (cp >> 12); *o++ = 0x80 | ((cp >> 6) & 0x3F); *o++ = 0x80 | (cp & 0x3F); n += 3;
        } else {
            *o++ = 0xF0 | (cp >> 18); *o++ = 0x80 | ((cp >> 12) & 0x3F); *o++ = 0x80 | ((cp >> 6) & 0x3F);
            *o++ = 0x80 | (cp & 0x3F); n += 4;
        }
    }
    *bytes = n;
    return o;
}

static void civil_from_days(long long z, long long *y, int *m, int *d) {
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long yy = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

static unsigned char *put_digits(unsigned char *o, long long v, int width) {
    unsigned char tmp[24];
    int n = 0;
    do { tmp[n++] = '0' + (v % 10); v /= 10; } while (v > 0);
    while (n < width) tmp[n++] = '0';
    while (n) *o++ = tmp[--n];
    return o;
}

/* 'YYYY-MM-DD HH:MM:SS.fff' of epoch milliseconds in [MS_LO, MS_HI] (years 1..9999). */
static unsigned char *write_ts(unsigned char *o, long long ms) {
    long long days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    long long rem = ms - days * 86400000;
    long long y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    o = put_digits(o, y, 4); *o++ = '-';
    o = put_digits(o, m, 2); *o++ = '-';
    o = put_digits(o, d, 2); *o++ = ' ';
    long long secs = rem / 1000, milli = rem % 1000;
    o = put_digits(o, secs / 3600, 2); *o++ = ':';
    o = put_digits(o, secs / 60 % 60, 2); *o++ = ':';
    o = put_digits(o, secs % 60, 2); *o++ = '.';
    o = put_digits(o, milli, 3);
    return o;
}

static const long long INT_LO[] = {0, 0, -32768LL, -2147483648LL, -9223372036854775807LL - 1};
static const long long INT_HI[] = {0, 0, 32767LL, 2147483647LL, 9223372036854775807LL};
static const int INT_DIGITS[] = {0, 0, 4, 9, 18};

/* Write column c's field for value v; returns the new o, or NULL to decline the line. */
static unsigned char *convert_value(const spec_t *s, int c, const val_t *v, unsigned char *o) {
    int kind = s->kind[c];
    if (v->type == V_MISSING || v->type == V_NULL) {
        if (s->not_null[c]) return NULL;
        *o++ = 0x02;
        return o;
    }
    switch (kind) {
    case K_VARCHAR: {
        if (v->type != V_STR) return NULL;  /* numbers and booleans: their JSON text, by the Python path */
        if (v->n == 0) {
            if (s->emptyasnull) {
                if (s->not_null[c]) return NULL;
                *o++ = 0x02;
            }
            return o;
        }
        unsigned char *start = o;
        long bytes;
        o = write_string(o, v, &bytes);
        if (s->maxlen[c] >= 0 && bytes > s->maxlen[c]) return NULL;  /* rejected or truncated: Python */
        /* BLANKSASNULL: a value that starts with whitespace may be blank: the Python path decides */
        if (s->blanksasnull && (*start == ' ' || *start == 0x0b || *start == 0x0c || *start == '\\')) return NULL;
        if (bytes == 1 && o - start == 1 && *start == 0x02) {  /* the NULL marker itself */
            o = start;
            *o++ = '\\'; *o++ = 'x'; *o++ = '0'; *o++ = '2';
        }
        return o;
    }
    case K_INT2: case K_INT4: case K_INT8: {
        if (v->type == V_INT) {
            long long x;
            if (!parse_int64(v, &x) || x < INT_LO[kind] || x > INT_HI[kind]) return NULL;
            memcpy(o, v->p, v->n);
            return o + v->n;
        }
        if (v->type == V_STR && !v->esc) {
            if (v->n == 0) {  /* "" loads NULL into a non-character column */
                if (s->not_null[c]) return NULL;
                *o++ = 0x02;
                return o;
            }
            if (v->n > INT_DIGITS[kind]) return NULL;
            for (long i = 0; i < v->n; i++)
                if (v->p[i] < '0' || v->p[i] > '9') return NULL;
            memcpy(o, v->p, v->n);
            return o + v->n;
        }
        return NULL;
    }
    case K_FLOAT8:
        if (v->type != V_INT && v->type != V_NUM) return NULL;
        memcpy(o, v->p, v->n);  /* PostgreSQL rounds the decimal text as Python's float() does */
        return o + v->n;
    case K_TS_MS: {
        long long ms;
        if (v->type != V_INT || !parse_int64(v, &ms) || ms < MS_LO || ms > MS_HI) return NULL;
        return write_ts(o, ms);
    }
    case K_BOOL:
        if (v->type == V_TRUE) { *o++ = 't'; return o; }
        if (v->type == V_FALSE) { *o++ = 'f'; return o; }
        if (v->type == V_INT && v->n == 1 && (v->p[0] == '0' || v->p[0] == '1')) {
            *o++ = v->p[0] == '1' ? 't' : 'f';
            return o;
        }
        return NULL;
    default:
        return NULL;
    }
}

static int find_column(const spec_t *s, const unsigned char *k, long n, int hint) {
    /* members usually come in column order: try the next column first */
    if (hint < s->ncols && s->key_len[hint] == n && memcmp(s->keys + s->key_off[hint], k, n) == 0) return hint;
    for (int c = 0; c < s->ncols; c++)
        if (s->key_len[c] == n && memcmp(s->keys + s->key_off[c], k, n) == 0) return c;
    return -1;
}

/* One line [p, end) -> one row at o; returns the new o, or NULL to decline. */
static unsigned char *convert_line(const spec_t *s, const unsigned char *p, const unsigned char *end,
                                   unsigned char *o, val_t *vals) {
    for (int c = 0; c < s->ncols; c++) vals[c].type = V_MISSING;
    while (p < end && is_ws(*p)) p++;
    if (p >= end || *p != '{') return NULL;
    p++;
    while (p < end && is_ws(*p)) p++;
    if (p < end && *p == '}') {
        p++;
    } else {
        int hint = 0;
        for (;;) {
            if (p >= end || *p != '"') return NULL;
            const unsigned char *k = ++p;
            while (p < end && *p != '"') {
                if (*p == '\\' || *p < 0x20 || *p >= 0x80) return NULL;
                p++;
            }
            if (p >= end) return NULL;
            long klen = p - k;
            p++;
            while (p < end && is_ws(*p)) p++;
            if (p >= end || *p != ':') return NULL;
            p++;
            while (p < end && is_ws(*p)) p++;
            if (p >= end) return NULL;
            val_t v;
            v.esc = 0;
            unsigned char c0 = *p;
            if (c0 == '"') {
                if (!scan_string(&p, end, &v)) return NULL;
            } else if (c0 == '-' || (c0 >= '0' && c0 <= '9')) {
                if (!scan_number(&p, end, &v)) return NULL;
            } else if (c0 == 't' && end - p >= 4 && memcmp(p, "true", 4) == 0) {
                v.type = V_TRUE; v.p = p; v.n = 4; p += 4;
            } else if (c0 == 'f' && end - p >= 5 && memcmp(p, "false", 5) == 0) {
                v.type = V_FALSE; v.p = p; v.n = 5; p += 5;
            } else if (c0 == 'n' && end - p >= 4 && memcmp(p, "null", 4) == 0) {
                v.type = V_NULL; v.p = p; v.n = 4; p += 4;
            } else {
                return NULL;  /* objects, arrays, invalid JSON */
            }
            int col = find_column(s, k, klen, hint);
            if (col >= 0) {
                if (vals[col].type != V_MISSING) return NULL;  /* a duplicated member */
                vals[col] = v;
                hint = col + 1;
            }
            while (p < end && is_ws(*p)) p++;
            if (p >= end) return NULL;
            if (*p == ',') {
                p++;
                while (p < end && is_ws(*p)) p++;
                continue;
            }
            if (*p == '}') { p++; break; }
            return NULL;
        }
    }
    while (p < end && is_ws(*p)) p++;
    if (p != end) return NULL;
    for (int c = 0; c < s->ncols; c++) {
        if (c) *o++ = '\t';
        o = convert_value(s, c, &vals[c], o);
        if (!o) return NULL;
    }
    *o++ = '\n';
    return o;
}

/*
 * Convert the lines of in[*in_pos, in_len) (a line ends at '\n' or at in_len) into out.
 * Returns ST_DONE (all consumed), ST_DECLINED (the line at *in_pos is for the Python path) or ST_FULL
 * (out has no room for the line at *in_pos). *out_len and *rows receive what was written.
 */
int sparkify_convert(const spec_t *s, const unsigned char *in, long in_len, unsigned char *out, long out_cap,
                     long *in_pos, long *out_len, long *rows) {
    val_t vals[MAX_COLS];
    const unsigned char *p = in + *in_pos, *end = in + in_len;
    unsigned char *o = out, *oend = out + out_cap;
    long n = 0;
    int status = ST_DONE;
    if (s->ncols > MAX_COLS) return ST_DECLINED;
    while (p < end) {
        const unsigned char *nl = memchr(p, '\n', end - p);
        const unsigned char *le = nl ? nl : end;
        long len = le - p;
        if (len > MAX_LINE) { status = ST_DECLINED; break; }
        if (oend - o < 2 * len + 32L * s->ncols + 16) { status = ST_FULL; break; }
        unsigned char *r = convert_line(s, p, le, o, vals);
        if (!r) { status = ST_DECLINED; break; }
        o = r;
        n++;
        p = nl ? nl + 1 : end;
    }
    *in_pos = p - in;
    *out_len = o - out;
    *rows = n;
    return status;
}

/*
 * Read whole small files, for the read-ahead threads (called without the GIL: one call reads a batch,
 * so 100,000 one-song files cost no Python work per file). paths: n NUL-terminated paths, one after
 * the other. Each file's content goes to out, one after the other; lens[i] is its length, or -1 if it
 * has more than max_bytes (the caller streams it) or -2 if it cannot be read (the caller opens it again
 * and reports the error). one_line[i] is 1 for a non-empty file without a newline but at its end; such
 * a file is written with a newline at its end (not counted in lens[i]). Returns the bytes written; stops
 * early (lens[i] = -3 from there on) when out is full.
 */
long sparkify_read_files(const char *paths, int n, long max_bytes, unsigned char *out, long out_cap, long *lens,
                         int *one_line) {
    const char *p = paths;
    long used = 0;
    /* consecutive files of one directory are opened relative to it (openat): the kernel resolves the
     * directory's path once, not once per file */
    char dir[4096];
    size_t dir_len = (size_t)-1;
    int dir_fd = -1;
    for (int i = 0; i < n; i++) {
        size_t plen = strlen(p);
        if (out_cap - used < max_bytes + 2) {
            for (int j = i; j < n; j++) lens[j] = -3;
            if (dir_fd >= 0) close(dir_fd);
            return used;
        }
        const char *slash = strrchr(p, '/');
        size_t dlen = slash ? (size_t)(slash - p) : 0;
        if (slash && dlen > 0 && dlen < sizeof dir && !(dlen == dir_len && memcmp(dir, p, dlen) == 0)) {
            if (dir_fd >= 0) close(dir_fd);
            memcpy(dir, p, dlen);
            dir[dlen] = 0;
            dir_len = dlen;
            do { dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); } while (dir_fd < 0 && errno == EINTR);
        }
        int fd;
        if (slash && dlen > 0 && dlen == dir_len && dir_fd >= 0) {
            do { fd = openat(dir_fd, slash + 1, O_RDONLY | O_CLOEXEC); } while (fd < 0 && errno == EINTR);
        } else {
            do { fd = open(p, O_RDONLY | O_CLOEXEC); } while (fd < 0 && errno == EINTR);
        }
        if (fd < 0) {
            lens[i] = -2;
        } else {
            long got = 0;
            for (;;) {
                ssize_t r = read(fd, out + used + got, (size_t)(max_bytes + 1 - got));
                if (r < 0) {
                    if (errno == EINTR) continue;
                    got = -2;
                    break;
                }
                if (r == 0) break;
                got += r;
                if (got > max_bytes) { got = -1; break; }
            }
            close(fd);
            lens[i] = got;
            one_line[i] = 0;
            if (got > 0) {
                /* one line: no newline but (maybe) the last byte; written newline-terminated, so that the
                 * files of a batch follow each other as lines */
                const unsigned char *nl = memchr(out + used, '\n', (size_t)got);
                if (!nl || nl == out + used + got - 1) {
                    one_line[i] = 1;
                    if (!nl) out[used + got++] = '\n';
                }
                used += got;
            }
        }
        p += plen + 1;
    }
    if (dir_fd >= 0) close(dir_fd);
    return used;
}

/* The next entry of dir but "." and "..", or NULL: at the end (errno 0) or on an error (errno set). */
static struct dirent *next_entry(DIR *dir) {
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(dir);
        if (!e) return NULL;
        const char *n = e->d_name;
        if (!(n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0)))) return e;
    }
}

/*
 * The entries of a directory in one call (os.scandir releases and takes back the GIL once per entry,
 * which threads reading files at the same time make slow). Writes, per entry but "." and "..", a type
 * byte ('d' directory, 'f' regular file, '?' anything else or unknown: the caller asks the file system)
 * followed by the NUL-terminated name. Returns the bytes written, -1 if the directory cannot be read
 * (errno tells why) or -2 if out is too small.
 */
long sparkify_list_dir(const char *path, unsigned char *out, long out_cap) {
    DIR *dir = opendir(path);
    if (!dir) return -1;
    long used = 0;
    struct dirent *e;
    while ((e = next_entry(dir)) != NULL) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (used + (long)len + 2 > out_cap) { closedir(dir); return -2; }
        out[used++] = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : '?';
        memcpy(out + used, name, len + 1);
        used += (long)len + 1;
    }
    int err = errno;
    closedir(dir);
    if (err) { errno = err; return -1; }
    return used;
}

/*
 * The entries of a directory with what the load ledger needs of each (sparkify.ledger's listing of a local
 * prefix): one call per directory instead of a DirEntry and a stat() call per file through Python. Every
 * entry but "." and ".." is stat()ed relative to the open directory, following symbolic links as the COPY
 * does; an entry gone meanwhile (or a dangling link) is left out, as os.scandir's is_file() leaves it out.
 * Writes the names, NUL-terminated, to names (their bytes to *names_used), and per entry one kind byte to
 * kinds ('d' directory, 'f' regular file, 'o' anything else), its size to sizes and its modification time in
 * nanoseconds to mtimes.
 * Returns the entries written, -1 if the directory cannot be read or an entry cannot be stat()ed for another
 * reason (errno tells why), -2 if a buffer is too small (the caller retries with larger ones).
 */
long sparkify_list_stat(const char *path, unsigned char *names, long names_cap, long *names_used,
                        unsigned char *kinds, int64_t *sizes, int64_t *mtimes, long max_entries) {
    DIR *dir = opendir(path);
    if (!dir) return -1;
    int dfd = dirfd(dir);
    long used = 0, n = 0;
    struct dirent *e;
    struct stat st;
    while ((e = next_entry(dir)) != NULL) {
        const char *name = e->d_name;
        if (fstatat(dfd, name, &st, 0) != 0) {
            if (errno == ENOENT) continue;
            int err = errno;
            closedir(dir);
            errno = err;
            return -1;
        }
        size_t len = strlen(name);
        if (n >= max_entries || used + (long)len + 1 > names_cap) { closedir(dir); return -2; }
        memcpy(names + used, name, len + 1);
        used += (long)len + 1;
        kinds[n] = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : 'o';
        sizes[n] = (int64_t)st.st_size;
        mtimes[n] = (int64_t)st.st_mtim.tv_sec * 1000000000 + (int64_t)st.st_mtim.tv_nsec;
        n++;
    }
    int err = errno;
    closedir(dir);
    if (err) { errno = err; return -1; }
    *names_used = used;
    return n;
}
