/*
 * workload.c - loaders (CSV, COCO JSON), the keep-ratio resize, batches and anchor
 * sets of the standard workloads. See workload.h.
 */
#include "workload.h"
#include "rng.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

/* ---------------------------------------------------------------- errors */

static aa_wl_status fail(aa_wl_error *err, aa_wl_status status, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        /* Keep it one line whatever the file contained. */
        for (char *p = err->message; *p != '\0'; ++p)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    return status;
}

static aa_wl_status fail_nomem(aa_wl_error *err, const char *name)
{
    return fail(err, AA_WL_ERR_NOMEM, "%s: out of memory", name);
}

/* Copies at most `max` bytes of s (length n) into out, printable ASCII only, so a
 * binary file does not garble the terminal. */
static void quote_snippet(char *out, size_t out_size, const char *s, size_t n, size_t max)
{
    size_t k = 0;
    if (n > max)
        n = max;
    for (size_t i = 0; i < n && k + 1 < out_size; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r')
            break;
        out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[k] = '\0';
}

/* ---------------------------------------------------------------- formats */

const char *aa_wl_format_name(aa_wl_format format)
{
    switch (format) {
    case AA_WL_FORMAT_CSV: return "csv";
    case AA_WL_FORMAT_COCO: return "coco";
    default: return "auto";
    }
}

aa_wl_format aa_wl_guess_format(const char *path)
{
    static const char ext[] = ".json";
    size_t n = path != NULL ? strlen(path) : 0, e = sizeof ext - 1;
    if (n < e)
        return AA_WL_FORMAT_CSV;
    for (size_t i = 0; i < e; ++i)
        if (tolower((unsigned char)path[n - e + i]) != ext[i])
            return AA_WL_FORMAT_CSV;
    return AA_WL_FORMAT_COCO;
}

/* ---------------------------------------------------------------- resize */

void aa_wl_resize(int32_t width, int32_t height, int32_t *new_w, int32_t *new_h,
                  float *scale_x, float *scale_y)
{
    /* mmcv.rescale_size in double, then int(x + 0.5); the box factors are the
     * realised ratios, stored as float32 as mmdetection's scale_factor array. */
    double sw = (double)AA_WL_RESIZE_W / width, sh = (double)AA_WL_RESIZE_H / height;
    double scale = sw < sh ? sw : sh;
    int32_t w = (int32_t)(width * scale + 0.5), h = (int32_t)(height * scale + 0.5);
    if (w < 1)
        w = 1; /* extreme aspect ratios: keep a 1-pixel image rather than 0 */
    if (h < 1)
        h = 1;
    *new_w = w;
    *new_h = h;
    *scale_x = (float)((double)w / width);
    *scale_y = (float)((double)h / height);
}

/* ---------------------------------------------------------------- id map */

/* Open addressing, image id -> image index; ids are arbitrary int64. */
typedef struct id_map {
    int64_t *keys;
    int32_t *values; /* -1: empty slot */
    size_t capacity; /* power of two */
    size_t count;
} id_map;

static size_t id_hash(int64_t key, size_t capacity)
{
    uint64_t x = (uint64_t)key; /* splitmix64 finaliser: ids are often sequential */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (size_t)x & (capacity - 1);
}

static int32_t id_map_find(const id_map *m, int64_t key)
{
    if (m->capacity == 0)
        return -1;
    for (size_t i = id_hash(key, m->capacity);; i = (i + 1) & (m->capacity - 1)) {
        if (m->values[i] < 0)
            return -1;
        if (m->keys[i] == key)
            return m->values[i];
    }
}

static void id_map_put_slot(id_map *m, int64_t key, int32_t value)
{
    size_t i = id_hash(key, m->capacity);
    while (m->values[i] >= 0)
        i = (i + 1) & (m->capacity - 1);
    m->keys[i] = key;
    m->values[i] = value;
    m->count++;
}

/* Inserts a key known to be absent. Returns 0, or -1 when out of memory. */
static int id_map_insert(id_map *m, int64_t key, int32_t value)
{
    if (2 * (m->count + 1) > m->capacity) {
        id_map grown = {NULL, NULL, m->capacity ? 2 * m->capacity : 64, 0};
        grown.keys = malloc(grown.capacity * sizeof *grown.keys);
        grown.values = malloc(grown.capacity * sizeof *grown.values);
        if (grown.keys == NULL || grown.values == NULL) {
            free(grown.keys);
            free(grown.values);
            return -1;
        }
        for (size_t i = 0; i < grown.capacity; ++i)
            grown.values[i] = -1;
        for (size_t i = 0; i < m->capacity; ++i)
            if (m->values[i] >= 0)
                id_map_put_slot(&grown, m->keys[i], m->values[i]);
        free(m->keys);
        free(m->values);
        *m = grown;
    }
    id_map_put_slot(m, key, value);
    return 0;
}

static void id_map_free(id_map *m)
{
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- builder */

/* One annotation as read, before grouping by image. */
typedef struct row {
    int64_t annotation_id;
    double x, y, w, h;
    int32_t image; /* index into the builder's images */
    int32_t category_id;
    uint8_t iscrowd;
} row;

typedef struct builder {
    const char *name;
    aa_wl_image *images;
    int64_t *image_lines; /* CSV: line where each image first appeared */
    size_t num_images, cap_images, cap_lines;
    row *rows;
    size_t num_rows, cap_rows;
    id_map ids;
} builder;

static void builder_free(builder *b)
{
    free(b->images);
    free(b->image_lines);
    free(b->rows);
    id_map_free(&b->ids);
}

/* Grows *p (of *cap elements of `size` bytes) to hold at least need elements. */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / size)
        return -1;
    void *q = realloc(*p, n * size);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static aa_wl_status builder_add_image(builder *b, int64_t id, int32_t width, int32_t height,
                                      int64_t line, int32_t *index, aa_wl_error *err)
{
    if (b->num_images >= (size_t)INT32_MAX)
        return fail(err, AA_WL_ERR_FORMAT, "%s: more than %d images", b->name, INT32_MAX);
    if (grow((void **)&b->images, &b->cap_images, b->num_images + 1, sizeof *b->images) != 0)
        return fail_nomem(err, b->name);
    if (grow((void **)&b->image_lines, &b->cap_lines, b->num_images + 1,
             sizeof *b->image_lines) != 0)
        return fail_nomem(err, b->name);
    *index = (int32_t)b->num_images;
    if (id_map_insert(&b->ids, id, *index) != 0)
        return fail_nomem(err, b->name);
    aa_wl_image *im = &b->images[b->num_images++];
    memset(im, 0, sizeof *im);
    im->image_id = id;
    im->width = width;
    im->height = height;
    b->image_lines[*index] = line;
    return AA_WL_OK;
}

static aa_wl_status builder_add_row(builder *b, const row *r, aa_wl_error *err)
{
    if (grow((void **)&b->rows, &b->cap_rows, b->num_rows + 1, sizeof *b->rows) != 0)
        return fail_nomem(err, b->name);
    b->rows[b->num_rows++] = *r;
    return AA_WL_OK;
}

static aa_wl_status dataset_alloc(aa_wl_dataset *ds, size_t num_images, size_t num_boxes)
{
    size_t nb = num_boxes ? num_boxes : 1; /* malloc(0) may return NULL */
    ds->images = calloc(num_images ? num_images : 1, sizeof *ds->images);
    ds->orig_boxes = malloc(nb * 4 * sizeof *ds->orig_boxes);
    ds->boxes = malloc(nb * 4 * sizeof *ds->boxes);
    ds->annotation_ids = malloc(nb * sizeof *ds->annotation_ids);
    ds->category_ids = malloc(nb * sizeof *ds->category_ids);
    ds->iscrowd = malloc(nb * sizeof *ds->iscrowd);
    if (!ds->images || !ds->orig_boxes || !ds->boxes || !ds->annotation_ids ||
        !ds->category_ids || !ds->iscrowd) {
        aa_wl_dataset_free(ds);
        return AA_WL_ERR_NOMEM;
    }
    return AA_WL_OK;
}

/* Writes row r as box k: x1,y1,x2,y2 rounded to float32 from the double sums (as
 * mmdetection's CocoDataset builds [x, y, x + w, y + h] in Python, then float32),
 * scaled by the float32 factors in float32 (HorizontalBoxes.rescale_). */
static void dataset_put_box(aa_wl_dataset *ds, size_t k, const row *r, const aa_wl_image *im)
{
    float *o = &ds->orig_boxes[4 * k], *s = &ds->boxes[4 * k];
    o[0] = (float)r->x;
    o[1] = (float)r->y;
    o[2] = (float)(r->x + r->w);
    o[3] = (float)(r->y + r->h);
    s[0] = o[0] * im->scale_x;
    s[1] = o[1] * im->scale_y;
    s[2] = o[2] * im->scale_x;
    s[3] = o[3] * im->scale_y;
    ds->annotation_ids[k] = r->annotation_id;
    ds->category_ids[k] = r->category_id;
    ds->iscrowd[k] = r->iscrowd;
}

/* Groups the rows by image (stable) and resizes: the builder becomes the dataset. */
static aa_wl_status builder_finish(builder *b, aa_wl_dataset *ds, aa_wl_error *err)
{
    if (dataset_alloc(ds, b->num_images, b->num_rows) != AA_WL_OK)
        return fail_nomem(err, b->name);
    ds->num_images = (int32_t)b->num_images;
    ds->num_boxes = (int64_t)b->num_rows;
    for (size_t i = 0; i < b->num_images; ++i)
        ds->images[i] = b->images[i];
    for (size_t r = 0; r < b->num_rows; ++r)
        ds->images[b->rows[r].image].num_boxes++;
    int64_t next = 0;
    for (size_t i = 0; i < b->num_images; ++i) {
        aa_wl_image *im = &ds->images[i];
        im->first_box = next;
        next += im->num_boxes;
        im->num_boxes = 0; /* refilled below as the fill cursor */
        aa_wl_resize(im->width, im->height, &im->resized_w, &im->resized_h, &im->scale_x,
                     &im->scale_y);
    }
    for (size_t r = 0; r < b->num_rows; ++r) {
        aa_wl_image *im = &ds->images[b->rows[r].image];
        dataset_put_box(ds, (size_t)(im->first_box + im->num_boxes), &b->rows[r], im);
        im->num_boxes++;
    }
    return AA_WL_OK;
}

void aa_wl_dataset_free(aa_wl_dataset *ds)
{
    if (ds == NULL)
        return;
    free(ds->images);
    free(ds->orig_boxes);
    free(ds->boxes);
    free(ds->annotation_ids);
    free(ds->category_ids);
    free(ds->iscrowd);
    memset(ds, 0, sizeof *ds);
}

/* ---------------------------------------------------------------- values */

/* Shared by both formats: checks of one field's value, returning a reason or NULL. */
static const char *check_side(double v)
{
    if (v != floor(v))
        return "not an integer";
    if (v < 1 || v > AA_WL_MAX_SIDE)
        return "must be 1 .. 1048576 pixels";
    return NULL;
}

static const char *check_coord(double v)
{
    return (fabs(v) <= (double)AA_MAX_COORD / 4) ? NULL : "not a finite coordinate in range";
}

static const char *check_size(double v)
{
    if (check_coord(v) != NULL)
        return "not a finite size in range";
    return v >= 0 ? NULL : "negative size";
}

static const char *check_category(double v)
{
    if (v != floor(v))
        return "not an integer";
    return (v >= 0 && v <= INT32_MAX) ? NULL : "must be 0 .. 2147483647";
}

static const char *check_crowd(double v)
{
    return (v == 0 || v == 1) ? NULL : "must be 0 or 1";
}

/* ids: any integer that a double holds exactly */
static const char *check_id(double v)
{
    if (v != floor(v))
        return "not an integer";
    return fabs(v) <= 9007199254740992.0 ? NULL : "out of range";
}

/* ---------------------------------------------------------------- CSV */

enum { COL_IMAGE_ID, COL_WIDTH, COL_HEIGHT, COL_ANN_ID, COL_X, COL_Y, COL_W, COL_H,
       COL_CATEGORY, COL_ISCROWD, NUM_COLS };
static const char *const col_names[NUM_COLS] = {"image_id", "width", "height", "annotation_id",
                                                "x", "y", "w", "h", "category_id", "iscrowd"};
#define CSV_MAX_FIELDS 64

typedef struct field {
    const char *s;
    size_t n;
} field;

typedef struct csv_reader {
    const char *name;
    const char *p, *end;
    int64_t line; /* number of the line last read */
} csv_reader;

/* Next line (without its \r\n); 0 at the end of the text. */
static int csv_next_line(csv_reader *r, const char **s, size_t *n)
{
    if (r->p >= r->end)
        return 0;
    const char *e = memchr(r->p, '\n', (size_t)(r->end - r->p));
    const char *stop = e ? e : r->end;
    *s = r->p;
    *n = (size_t)(stop - r->p);
    if (*n > 0 && (*s)[*n - 1] == '\r')
        --*n;
    r->p = e ? e + 1 : r->end;
    r->line++;
    return 1;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (!isspace((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Splits on commas, trimming blanks. Returns the field count, or -1 if too many. */
static int csv_split(const char *s, size_t n, field *f)
{
    int count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; ++i) {
        if (i < n && s[i] != ',')
            continue;
        if (count == CSV_MAX_FIELDS)
            return -1;
        size_t a = start, b = i;
        while (a < b && isspace((unsigned char)s[a]))
            ++a;
        while (b > a && isspace((unsigned char)s[b - 1]))
            --b;
        f[count].s = s + a;
        f[count].n = b - a;
        ++count;
        start = i + 1;
    }
    return count;
}

static int field_is(const field *f, const char *name)
{
    return strlen(name) == f->n && memcmp(f->s, name, f->n) == 0;
}

/* Maps each needed column to its position in the header. */
static aa_wl_status csv_header(csv_reader *r, const char *s, size_t n, int *pos,
                               int *num_fields, aa_wl_error *err)
{
    field f[CSV_MAX_FIELDS];
    int count = csv_split(s, n, f);
    if (count < 0)
        return fail(err, AA_WL_ERR_FORMAT, "%s:%lld: more than %d columns in the header",
                    r->name, (long long)r->line, CSV_MAX_FIELDS);
    for (int c = 0; c < NUM_COLS; ++c) {
        pos[c] = -1;
        for (int i = 0; i < count && pos[c] < 0; ++i)
            if (field_is(&f[i], col_names[c]))
                pos[c] = i;
        if (pos[c] < 0)
            return fail(err, AA_WL_ERR_FORMAT,
                        "%s:%lld: header: missing column '%s' (expected "
                        "split,image_id,width,height,annotation_id,x,y,w,h,category_id,iscrowd)",
                        r->name, (long long)r->line, col_names[c]);
    }
    *num_fields = count;
    return AA_WL_OK;
}

/* Parses a field as a finite number, then applies check. */
static aa_wl_status csv_number(const csv_reader *r, const field *f, int col,
                               const char *(*check)(double), double *out, aa_wl_error *err)
{
    char buf[64], shown[40];
    quote_snippet(shown, sizeof shown, f->s, f->n, 32);
    if (f->n == 0)
        return fail(err, AA_WL_ERR_FORMAT, "%s:%lld: field '%s': empty", r->name,
                    (long long)r->line, col_names[col]);
    if (f->n >= sizeof buf)
        return fail(err, AA_WL_ERR_FORMAT, "%s:%lld: field '%s': not a number ('%s...')",
                    r->name, (long long)r->line, col_names[col], shown);
    memcpy(buf, f->s, f->n);
    buf[f->n] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end != '\0' || !isfinite(v) || errno == ERANGE)
        return fail(err, AA_WL_ERR_FORMAT, "%s:%lld: field '%s': not a number ('%s')", r->name,
                    (long long)r->line, col_names[col], shown);
    const char *why = check(v);
    if (why != NULL)
        return fail(err, AA_WL_ERR_FORMAT, "%s:%lld: field '%s': %s ('%s')", r->name,
                    (long long)r->line, col_names[col], why, shown);
    *out = v;
    return AA_WL_OK;
}

/* The image of a row: new, or the same size as where it first appeared. */
static aa_wl_status csv_image(builder *b, const csv_reader *r, const double *v, int32_t *index,
                              aa_wl_error *err)
{
    int64_t id = (int64_t)v[COL_IMAGE_ID];
    int32_t w = (int32_t)v[COL_WIDTH], h = (int32_t)v[COL_HEIGHT];
    *index = id_map_find(&b->ids, id);
    if (*index < 0)
        return builder_add_image(b, id, w, h, r->line, index, err);
    const aa_wl_image *im = &b->images[*index];
    if (im->width != w || im->height != h)
        return fail(err, AA_WL_ERR_FORMAT,
                    "%s:%lld: field '%s': image %lld is %dx%d on line %lld but %dx%d here",
                    r->name, (long long)r->line, im->width != w ? "width" : "height",
                    (long long)id, im->width, im->height, (long long)b->image_lines[*index], w,
                    h);
    return AA_WL_OK;
}

static aa_wl_status csv_row(builder *b, const csv_reader *r, const char *s, size_t n,
                            const int *pos, int num_fields, aa_wl_error *err)
{
    static const char *(*const checks[NUM_COLS])(double) = {
        check_id, check_side, check_side, check_id, check_coord, check_coord,
        check_size, check_size, check_category, check_crowd};
    field f[CSV_MAX_FIELDS];
    int count = csv_split(s, n, f);
    if (count != num_fields)
        return fail(err, AA_WL_ERR_FORMAT, "%s:%lld: expected %d fields as the header, found %s%d",
                    r->name, (long long)r->line, num_fields, count < 0 ? "more than " : "",
                    count < 0 ? CSV_MAX_FIELDS : count);
    double v[NUM_COLS];
    for (int c = 0; c < NUM_COLS; ++c) {
        aa_wl_status st = csv_number(r, &f[pos[c]], c, checks[c], &v[c], err);
        if (st != AA_WL_OK)
            return st;
    }
    row rw;
    aa_wl_status st = csv_image(b, r, v, &rw.image, err);
    if (st != AA_WL_OK)
        return st;
    rw.annotation_id = (int64_t)v[COL_ANN_ID];
    rw.x = v[COL_X];
    rw.y = v[COL_Y];
    rw.w = v[COL_W];
    rw.h = v[COL_H];
    rw.category_id = (int32_t)v[COL_CATEGORY];
    rw.iscrowd = (uint8_t)v[COL_ISCROWD];
    return builder_add_row(b, &rw, err);
}

static aa_wl_status csv_parse_all(builder *b, csv_reader *r, aa_wl_error *err)
{
    const char *s;
    size_t n;
    int pos[NUM_COLS], num_fields = 0;
    while (csv_next_line(r, &s, &n)) {
        if (is_blank(s, n))
            continue; /* blank lines, including the usual final newline */
        aa_wl_status st;
        if (num_fields == 0)
            st = csv_header(r, s, n, pos, &num_fields, err);
        else
            st = csv_row(b, r, s, n, pos, num_fields, err);
        if (st != AA_WL_OK)
            return st;
    }
    if (num_fields == 0)
        return fail(err, AA_WL_ERR_FORMAT, "%s: empty file (expected a CSV header line)",
                    r->name);
    return AA_WL_OK;
}

aa_wl_status aa_wl_parse_csv(const char *name, const char *text, size_t len,
                             aa_wl_dataset *ds, aa_wl_error *err)
{
    if (ds == NULL || (text == NULL && len > 0))
        return fail(err, AA_WL_ERR_ARGUMENT, "aa_wl_parse_csv: NULL argument");
    memset(ds, 0, sizeof *ds);
    if (name == NULL)
        name = "<csv>";
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3; /* UTF-8 byte-order mark, as spreadsheet tools write */
        len -= 3;
    }
    if (len > 0 && memchr(text, '\0', len) != NULL)
        return fail(err, AA_WL_ERR_FORMAT, "%s: not a text file (contains NUL bytes)", name);
    builder b = {0};
    b.name = name;
    csv_reader r = {name, text, text + len, 0};
    aa_wl_status st = csv_parse_all(&b, &r, err);
    if (st == AA_WL_OK)
        st = builder_finish(&b, ds, err);
    builder_free(&b);
    return st;
}

/* ---------------------------------------------------------------- COCO JSON */

typedef struct json_ctx {
    const char *name;
    const char *array; /* "images" or "annotations" */
    int index;
    double id; /* the element's id when known (for messages), else NAN */
} json_ctx;

static aa_wl_status json_fail(const json_ctx *c, const char *key, const char *why,
                              aa_wl_error *err)
{
    if (isnan(c->id))
        return fail(err, AA_WL_ERR_FORMAT, "%s: %s[%d]: field '%s': %s", c->name, c->array,
                    c->index, key, why);
    return fail(err, AA_WL_ERR_FORMAT, "%s: %s[%d] (id %.0f): field '%s': %s", c->name,
                c->array, c->index, c->id, key, why);
}

/* A number member of obj passed through check; optional members take `dflt` when
 * absent (required when dflt is NAN). Booleans count as 0/1 (iscrowd). */
static aa_wl_status json_number(const json_ctx *c, const cJSON *obj, const char *key,
                                const char *(*check)(double), double dflt, double *out,
                                aa_wl_error *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    double v;
    if (item == NULL) {
        if (isnan(dflt))
            return json_fail(c, key, "missing", err);
        v = dflt;
    } else if (cJSON_IsBool(item)) {
        v = cJSON_IsTrue(item) ? 1.0 : 0.0;
    } else if (cJSON_IsNumber(item) && isfinite(item->valuedouble)) {
        v = item->valuedouble;
    } else {
        return json_fail(c, key, "not a number", err);
    }
    const char *why = check(v);
    if (why != NULL) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s (%.9g)", why, v);
        return json_fail(c, key, msg, err);
    }
    *out = v;
    return AA_WL_OK;
}

static aa_wl_status json_image(builder *b, json_ctx *c, const cJSON *item, aa_wl_error *err)
{
    double id = 0, w = 0, h = 0;
    if (!cJSON_IsObject(item))
        return json_fail(c, "id", "the element is not an object", err);
    aa_wl_status st = json_number(c, item, "id", check_id, NAN, &id, err);
    if (st != AA_WL_OK)
        return st;
    c->id = id;
    if ((st = json_number(c, item, "width", check_side, NAN, &w, err)) != AA_WL_OK ||
        (st = json_number(c, item, "height", check_side, NAN, &h, err)) != AA_WL_OK)
        return st;
    int32_t index = id_map_find(&b->ids, (int64_t)id);
    if (index >= 0) {
        char msg[80];
        snprintf(msg, sizeof msg, "duplicate image id (also images[%d])", index);
        return json_fail(c, "id", msg, err);
    }
    return builder_add_image(b, (int64_t)id, (int32_t)w, (int32_t)h, c->index, &index, err);
}

/* bbox: [x, y, w, h], four finite numbers, w and h >= 0. */
static aa_wl_status json_bbox(const json_ctx *c, const cJSON *obj, row *r, aa_wl_error *err)
{
    const cJSON *bbox = cJSON_GetObjectItemCaseSensitive(obj, "bbox");
    if (bbox == NULL)
        return json_fail(c, "bbox", "missing", err);
    if (!cJSON_IsArray(bbox) || cJSON_GetArraySize(bbox) != 4)
        return json_fail(c, "bbox", "expected an array of 4 numbers [x, y, w, h]", err);
    double v[4];
    for (int i = 0; i < 4; ++i) {
        const cJSON *e = cJSON_GetArrayItem(bbox, i);
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
            return json_fail(c, "bbox", "expected an array of 4 numbers [x, y, w, h]", err);
        v[i] = e->valuedouble;
        const char *why = i < 2 ? check_coord(v[i]) : check_size(v[i]);
        if (why != NULL) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s: %s (%.9g)", i == 0 ? "x" : i == 1 ? "y" : i == 2 ? "w" : "h",
                     why, v[i]);
            return json_fail(c, "bbox", msg, err);
        }
    }
    r->x = v[0];
    r->y = v[1];
    r->w = v[2];
    r->h = v[3];
    return AA_WL_OK;
}

static aa_wl_status json_annotation(builder *b, json_ctx *c, const cJSON *item,
                                    aa_wl_error *err)
{
    double id = 0, image_id = 0, category = 0, crowd = 0;
    row r;
    if (!cJSON_IsObject(item))
        return json_fail(c, "id", "the element is not an object", err);
    aa_wl_status st = json_number(c, item, "id", check_id, NAN, &id, err);
    if (st != AA_WL_OK)
        return st;
    c->id = id;
    if ((st = json_number(c, item, "image_id", check_id, NAN, &image_id, err)) != AA_WL_OK ||
        (st = json_bbox(c, item, &r, err)) != AA_WL_OK ||
        (st = json_number(c, item, "category_id", check_category, NAN, &category, err)) !=
            AA_WL_OK ||
        (st = json_number(c, item, "iscrowd", check_crowd, 0.0, &crowd, err)) != AA_WL_OK)
        return st;
    r.image = id_map_find(&b->ids, (int64_t)image_id);
    if (r.image < 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "unknown image %.0f (not in 'images')", image_id);
        return json_fail(c, "image_id", msg, err);
    }
    r.annotation_id = (int64_t)id;
    r.category_id = (int32_t)category;
    r.iscrowd = (uint8_t)crowd;
    return builder_add_row(b, &r, err);
}

/* Runs fn on each element of root[key]; a missing array is an error if required. */
static aa_wl_status json_each(builder *b, const cJSON *root, const char *key, int required,
                              aa_wl_status (*fn)(builder *, json_ctx *, const cJSON *,
                                                 aa_wl_error *),
                              aa_wl_error *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
    if (arr == NULL && !required)
        return AA_WL_OK;
    if (arr == NULL)
        return fail(err, AA_WL_ERR_FORMAT, "%s: field '%s': missing (not a COCO annotation file?)",
                    b->name, key);
    if (!cJSON_IsArray(arr))
        return fail(err, AA_WL_ERR_FORMAT, "%s: field '%s': not an array", b->name, key);
    json_ctx c = {b->name, key, 0, NAN};
    for (const cJSON *item = arr->child; item != NULL; item = item->next, ++c.index) {
        c.id = NAN;
        aa_wl_status st = fn(b, &c, item, err);
        if (st != AA_WL_OK)
            return st;
    }
    return AA_WL_OK;
}

/* A syntax error: line and column of where cJSON stopped, and the text there. */
static aa_wl_status json_syntax_error(const char *name, const char *text, size_t len,
                                      const char *at, const char *what, aa_wl_error *err)
{
    size_t off = (at != NULL && at >= text && at <= text + len) ? (size_t)(at - text) : 0;
    long long line = 1, col = 1;
    for (size_t i = 0; i < off; ++i, ++col)
        if (text[i] == '\n') {
            ++line;
            col = 0;
        }
    char near[40];
    quote_snippet(near, sizeof near, text + off, len - off, 24);
    return fail(err, AA_WL_ERR_FORMAT, "%s:%lld:%lld: %s near '%s'", name, line, col, what, near);
}

aa_wl_status aa_wl_parse_coco(const char *name, const char *text, size_t len,
                              aa_wl_dataset *ds, aa_wl_error *err)
{
    if (ds == NULL || (text == NULL && len > 0))
        return fail(err, AA_WL_ERR_ARGUMENT, "aa_wl_parse_coco: NULL argument");
    memset(ds, 0, sizeof *ds);
    if (name == NULL)
        name = "<json>";
    if (is_blank(text, len))
        return fail(err, AA_WL_ERR_FORMAT, "%s: empty file (expected COCO annotation JSON)", name);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL)
        return json_syntax_error(name, text, len, end, "not valid JSON", err);
    size_t used = (end != NULL && end >= text) ? (size_t)(end - text) : len;
    while (used < len && isspace((unsigned char)text[used]))
        ++used; /* point at the stray text itself */
    end = text + used;
    aa_wl_status st = AA_WL_OK;
    if (used < len)
        st = json_syntax_error(name, text, len, end, "unexpected text after the JSON value", err);
    else if (!cJSON_IsObject(root))
        st = fail(err, AA_WL_ERR_FORMAT,
                  "%s: not a COCO annotation file (the top level is not an object)", name);
    builder b = {0};
    b.name = name;
    if (st == AA_WL_OK)
        st = json_each(&b, root, "images", 1, json_image, err);
    if (st == AA_WL_OK)
        st = json_each(&b, root, "annotations", 0, json_annotation, err);
    cJSON_Delete(root);
    if (st == AA_WL_OK)
        st = builder_finish(&b, ds, err);
    builder_free(&b);
    return st;
}

/* ---------------------------------------------------------------- files */

static aa_wl_status read_file(const char *path, char **text, size_t *len, aa_wl_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fail(err, AA_WL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (grow((void **)&buf, &cap, n + 65536, 1) != 0) {
            free(buf);
            fclose(f);
            return fail_nomem(err, path);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f), saved = errno;
    fclose(f);
    if (bad) {
        free(buf);
        return fail(err, AA_WL_ERR_IO, "%s: cannot read: %s", path, strerror(saved));
    }
    *text = buf;
    *len = n;
    return AA_WL_OK;
}

aa_wl_status aa_wl_load(const char *path, aa_wl_format format, aa_wl_dataset *ds,
                        aa_wl_error *err)
{
    if (path == NULL || ds == NULL)
        return fail(err, AA_WL_ERR_ARGUMENT, "aa_wl_load: NULL argument");
    memset(ds, 0, sizeof *ds);
    char *text = NULL;
    size_t len = 0;
    aa_wl_status st = read_file(path, &text, &len, err);
    if (st != AA_WL_OK)
        return st;
    if (format == AA_WL_FORMAT_AUTO)
        format = aa_wl_guess_format(path);
    if (format == AA_WL_FORMAT_COCO)
        st = aa_wl_parse_coco(path, text, len, ds, err);
    else
        st = aa_wl_parse_csv(path, text, len, ds, err);
    free(text);
    return st;
}

/* ---------------------------------------------------------------- batches */

aa_wl_status aa_wl_batch_make(const aa_wl_dataset *ds, int32_t first, int32_t count,
                              aa_wl_batch *batch, aa_wl_error *err)
{
    if (ds == NULL || batch == NULL)
        return fail(err, AA_WL_ERR_ARGUMENT, "aa_wl_batch_make: NULL argument");
    memset(batch, 0, sizeof *batch);
    if (first < 0 || count < 0 || count > AA_MAX_IMAGES || first > ds->num_images ||
        count > ds->num_images - first)
        return fail(err, AA_WL_ERR_ARGUMENT,
                    "images %d..%d requested, the dataset has %d", first, first + count,
                    ds->num_images);
    batch->offsets = malloc(((size_t)count + 1) * sizeof *batch->offsets);
    if (batch->offsets == NULL)
        return fail(err, AA_WL_ERR_NOMEM, "out of memory");
    /* Images are contiguous in the dataset, so GT arrays are views. */
    int64_t base = count > 0 ? ds->images[first].first_box : 0;
    batch->offsets[0] = 0;
    for (int32_t i = 0; i < count; ++i) {
        const aa_wl_image *im = &ds->images[first + i];
        batch->offsets[i + 1] = im->first_box + im->num_boxes - base;
    }
    batch->first_image = first;
    batch->first_box = base;
    batch->gts.boxes = ds->boxes + 4 * base;
    batch->gts.offsets = batch->offsets;
    batch->gts.num_images = count;
    batch->gts.ignore_flags = ds->iscrowd + base;
    batch->gts.labels = ds->category_ids + base;
    return AA_WL_OK;
}

void aa_wl_batch_free(aa_wl_batch *batch)
{
    if (batch == NULL)
        return;
    free(batch->offsets);
    memset(batch, 0, sizeof *batch);
}

/* ---------------------------------------------------------------- anchors */

/* "call: STATUS: message", the context's message when there is one. */
static aa_wl_status library_fail(aa_wl_error *err, const aa_context *ctx, const char *call,
                                 aa_status st)
{
    const char *msg = ctx != NULL ? aa_context_last_error(ctx) : "";
    return fail(err, AA_WL_ERR_LIBRARY, "%s: %s%s%s", call, aa_status_string(st),
                (msg != NULL && *msg) ? ": " : "", msg != NULL ? msg : "");
}

/* The anchor parameters of a kind; points use one ratio and scale for counting. */
static void anchor_params(aa_wl_anchor_kind kind, aa_anchor_params *p)
{
    aa_anchor_params_init(p); /* RetinaNet: ratios 0.5,1,2, octave base 4, 3 scales */
    if (kind == AA_WL_ANCHORS_RETINA)
        return;
    p->num_ratios = 1;
    p->ratios[0] = 1.0f;
    p->octave_base_scale = 8.0f; /* ATSS: one 8*stride square anchor per location */
    p->scales_per_octave = 1;
}

static const char *anchor_set_name(aa_wl_anchor_kind kind)
{
    switch (kind) {
    case AA_WL_ANCHORS_RETINA: return "coco-retina";
    case AA_WL_ANCHORS_ATSS: return "coco-atss";
    default: return "fcos-points";
    }
}

static aa_wl_status anchor_set_fill(aa_context *ctx, aa_wl_anchor_kind kind,
                                    const aa_anchor_params *p, int32_t height, int32_t width,
                                    aa_wl_anchor_set *set, aa_wl_error *err)
{
    int64_t n = set->anchors.num_anchors;
    if (kind != AA_WL_POINTS_FCOS) {
        aa_status st = aa_anchor_generate(ctx, p, height, width, set->boxes, n);
        return st == AA_SUCCESS ? AA_WL_OK : library_fail(err, ctx, "aa_anchor_generate", st);
    }
    int64_t got = 0;
    aa_status st = aa_point_generate(ctx, p->num_levels, p->strides, 0.5f, height, width,
                                     set->boxes, n, set->level_counts, &got);
    if (st != AA_SUCCESS)
        return library_fail(err, ctx, "aa_point_generate", st);
    if (got != n)
        return fail(err, AA_WL_ERR_LIBRARY,
                    "aa_point_generate: %lld points, aa_anchor_count said %lld",
                    (long long)got, (long long)n);
    return AA_WL_OK;
}

/* Counts, allocates and generates on a CPU context (host memory). */
static aa_wl_status anchor_set_build(aa_context *ctx, aa_wl_anchor_kind kind, int32_t height,
                                     int32_t width, aa_wl_anchor_set *set, aa_wl_error *err)
{
    aa_anchor_params p;
    anchor_params(kind, &p);
    int64_t n = 0;
    set->level_counts = calloc(AA_MAX_LEVELS, sizeof *set->level_counts);
    set->level_strides = calloc(AA_MAX_LEVELS, sizeof *set->level_strides);
    if (set->level_counts == NULL || set->level_strides == NULL)
        return fail(err, AA_WL_ERR_NOMEM, "out of memory");
    aa_status st = aa_anchor_count(ctx, &p, height, width, set->level_counts, &n);
    if (st != AA_SUCCESS)
        return library_fail(err, ctx, "aa_anchor_count", st);
    set->boxes = malloc((size_t)(n > 0 ? n : 1) * 4 * sizeof *set->boxes);
    if (set->boxes == NULL)
        return fail(err, AA_WL_ERR_NOMEM, "out of memory for %lld anchors", (long long)n);
    for (int32_t l = 0; l < p.num_levels; ++l)
        set->level_strides[l] = p.strides[l];
    set->name = anchor_set_name(kind);
    set->anchors.boxes = set->boxes;
    set->anchors.num_anchors = n;
    set->anchors.num_levels = p.num_levels;
    set->anchors.level_counts = set->level_counts;
    set->anchors.level_strides = set->level_strides;
    return anchor_set_fill(ctx, kind, &p, height, width, set, err);
}

aa_wl_status aa_wl_anchor_set_make(aa_wl_anchor_kind kind, int32_t height, int32_t width,
                                   aa_wl_anchor_set *set, aa_wl_error *err)
{
    if (set == NULL)
        return fail(err, AA_WL_ERR_ARGUMENT, "aa_wl_anchor_set_make: NULL argument");
    memset(set, 0, sizeof *set);
    if (kind < AA_WL_ANCHORS_RETINA || kind > AA_WL_POINTS_FCOS)
        return fail(err, AA_WL_ERR_ARGUMENT, "aa_wl_anchor_set_make: unknown kind %d", (int)kind);
    aa_context_options opt;
    aa_context_options_init(&opt);
    opt.backend = AA_BACKEND_CPU;
    aa_context *ctx = NULL;
    aa_status st = aa_context_create(&ctx, &opt);
    if (st != AA_SUCCESS)
        return library_fail(err, NULL, "aa_context_create(cpu)", st);
    aa_wl_status ws = anchor_set_build(ctx, kind, height, width, set, err);
    aa_context_destroy(ctx);
    if (ws != AA_WL_OK)
        aa_wl_anchor_set_free(set);
    return ws;
}

void aa_wl_anchor_set_free(aa_wl_anchor_set *set)
{
    if (set == NULL)
        return;
    free(set->boxes);
    free(set->level_counts);
    free(set->level_strides);
    memset(set, 0, sizeof *set);
}

int32_t aa_wl_anchor_level(const aa_wl_anchor_set *set, int64_t index)
{
    if (set == NULL || index < 0)
        return -1;
    for (int32_t l = 0; l < set->anchors.num_levels; ++l) {
        if (index < set->level_counts[l])
            return l;
        index -= set->level_counts[l];
    }
    return -1;
}

/* ---------------------------------------------------------------- synthetic workloads */

const char *aa_wl_synthetic_name(aa_wl_synthetic kind)
{
    switch (kind) {
    case AA_WL_SYNTH_DENSE: return "dense";
    case AA_WL_SYNTH_EXTREME: return "extreme";
    default: return NULL;
    }
}

/* Clamps a box of size w x h centred at (cx, cy) into [0, W] x [0, H] by shifting it. */
static void synth_put(float *b, double cx, double cy, double w, double h, double W, double H)
{
    double x1 = cx - 0.5 * w, y1 = cy - 0.5 * h;
    if (x1 < 0.0)
        x1 = 0.0;
    if (y1 < 0.0)
        y1 = 0.0;
    if (x1 + w > W)
        x1 = W - w;
    if (y1 + h > H)
        y1 = H - h;
    b[0] = (float)x1;
    b[1] = (float)y1;
    b[2] = (float)(x1 + w);
    b[3] = (float)(y1 + h);
}

#define SYNTH_MAX_REGIONS 5

static void synth_dense_image(synth_rng *r, int32_t n, float *boxes, int32_t *categories)
{
    const double W = AA_WL_RESIZE_W, H = AA_WL_RESIZE_H;
    double rx[SYNTH_MAX_REGIONS], ry[SYNTH_MAX_REGIONS], sx[SYNTH_MAX_REGIONS],
        sy[SYNTH_MAX_REGIONS];
    /* 3..5 crowd regions, always SYNTH_MAX_REGIONS draws so the box draws that follow
     * do not depend on the count. */
    int regions = 3 + (int)(synth_uniform(r) * 3.0);
    for (int c = 0; c < SYNTH_MAX_REGIONS; ++c) {
        rx[c] = synth_range(r, 0.1 * W, 0.9 * W);
        ry[c] = synth_range(r, 0.25 * H, 0.85 * H);
        sx[c] = synth_range(r, 40.0, 160.0);
        sy[c] = synth_range(r, 20.0, 80.0);
    }
    for (int32_t k = 0; k < n; ++k) {
        int c = (int)(synth_uniform(r) * regions);
        double u = synth_uniform(r);
        double h = 30.0 + 270.0 * u * u;
        double z = synth_normal(r);
        if (z < -2.0)
            z = -2.0;
        if (z > 2.0)
            z = 2.0;
        double w = h / (2.5 + 0.5 * z);
        double cx = rx[c] + sx[c] * synth_normal(r);
        double cy = ry[c] + sy[c] * synth_normal(r);
        synth_put(&boxes[4 * (size_t)k], cx, cy, w, h, W, H);
        categories[k] = 1;
    }
}

static void synth_extreme_image(synth_rng *r, int32_t n, float *boxes, int32_t *categories)
{
    const double W = AA_WL_RESIZE_W, H = AA_WL_RESIZE_H;
    for (int32_t k = 0; k < n; ++k) {
        double w = synth_range(r, 8.0, 40.0), h = synth_range(r, 8.0, 40.0);
        double x1 = synth_range(r, 0.0, W - w), y1 = synth_range(r, 0.0, H - h);
        synth_put(&boxes[4 * (size_t)k], x1 + 0.5 * w, y1 + 0.5 * h, w, h, W, H);
        categories[k] = 1 + (int32_t)(synth_uniform(r) * 10.0);
    }
}

aa_wl_status aa_wl_synthetic_make(aa_wl_synthetic kind, int32_t num_images,
                                  int32_t boxes_per_image, uint64_t seed, aa_wl_dataset *ds,
                                  aa_wl_error *err)
{
    if (ds == NULL)
        return fail(err, AA_WL_ERR_ARGUMENT, "aa_wl_synthetic_make: NULL dataset");
    memset(ds, 0, sizeof *ds);
    const char *name = aa_wl_synthetic_name(kind);
    if (name == NULL)
        return fail(err, AA_WL_ERR_ARGUMENT, "aa_wl_synthetic_make: unknown kind %d", (int)kind);
    if (num_images < 1 || num_images > AA_MAX_IMAGES)
        return fail(err, AA_WL_ERR_ARGUMENT, "%s: num_images %d: must be 1..%d", name,
                    (int)num_images, AA_MAX_IMAGES);
    if (boxes_per_image < 0 || boxes_per_image > 1000000)
        return fail(err, AA_WL_ERR_ARGUMENT, "%s: boxes_per_image %d: must be 0..1000000", name,
                    (int)boxes_per_image);
    if (boxes_per_image == 0)
        boxes_per_image = kind == AA_WL_SYNTH_DENSE ? AA_WL_DENSE_BOXES : AA_WL_EXTREME_BOXES;
    size_t total = (size_t)num_images * (size_t)boxes_per_image;
    if (dataset_alloc(ds, (size_t)num_images, total) != AA_WL_OK)
        return fail_nomem(err, name);
    ds->num_images = num_images;
    ds->num_boxes = (int64_t)total;
    for (int32_t i = 0; i < num_images; ++i) {
        aa_wl_image *im = &ds->images[i];
        im->image_id = (int64_t)i + 1;
        im->width = im->resized_w = AA_WL_RESIZE_W;
        im->height = im->resized_h = AA_WL_RESIZE_H;
        im->scale_x = im->scale_y = 1.0f;
        im->first_box = (int64_t)i * boxes_per_image;
        im->num_boxes = boxes_per_image;
        /* One independent stream per (seed, kind, image). */
        synth_rng r = {seed ^ ((uint64_t)kind << 56) ^ ((uint64_t)i * 0xd1b54a32d192ed03ull)};
        (void)synth_next(&r);
        size_t first = (size_t)im->first_box;
        if (kind == AA_WL_SYNTH_DENSE)
            synth_dense_image(&r, boxes_per_image, &ds->boxes[4 * first], &ds->category_ids[first]);
        else
            synth_extreme_image(&r, boxes_per_image, &ds->boxes[4 * first],
                                &ds->category_ids[first]);
        for (int32_t k = 0; k < boxes_per_image; ++k) {
            ds->annotation_ids[first + (size_t)k] = im->image_id * 1000000 + k + 1;
            ds->iscrowd[first + (size_t)k] = 0;
        }
    }
    memcpy(ds->orig_boxes, ds->boxes, total * 4 * sizeof *ds->boxes);
    return AA_WL_OK;
}
