/* winograd.cl - the transforms of Winograd's F(2x2, 3x3) and F(4x4, 3x3)
 * convolutions (Lavin & Gray 2016) around 16 or 36 GEMMs
 * (lib/opencl/cl_conv_winograd.c): filters U = G g G^T, input tiles
 * V = B^T d B, and the output Y = A^T M A with the bias and a fused
 * activation. */

/* Layout shared with `wino_shape` in cl_conv_winograd.c (ints and one
 * float). A chunk of `images` images has T = images * tiles_h * tiles_w
 * tiles of `tile` x `tile` outputs (2 or 4), numbered (image, tile row,
 * tile column); for F(2x2, 3x3) U is [16][K][C], V [16][C][T] and M
 * [16][K][T], the 16 being the positions of a 4x4 input tile (36 of a
 * 6x6 one for F(4x4, 3x3)), rows of V and M `ld` apart: T rounded up to
 * whole tiles of the GEMM (no output reads the products past T).
 * act_fn is a clnet_activation value, -1 for none. The 3x3 filter of
 * (k, c) starts at w[k * w_kstride + c * w_cstride], rotated by 180 degrees
 * with `flip`: a transposed convolution's weights (C, K, 3, 3) read as the
 * forward convolution that computes the same thing. With `mirror` (a
 * transposed convolution whose product reads the forward convolution's U
 * instead), V and M hold position (i, j) at slot (slot_of(i), slot_of(j)). */
typedef struct wino_shape {
    int c, h, w, k, oh, ow;
    int pad_h, pad_w, tiles_h, tiles_w, images, ld;
    int has_bias, act_fn;
    float act_alpha;
    int w_kstride, w_cstride, flip, mirror, tile;
} wino_shape;

#define VW 16

/* The slot of tile row or column i: 0 and 3 swapped when mirrored, since
 * G rot(g) G^T is G g G^T with its first and last rows and columns
 * swapped. */
static inline int slot_of(int i, const wino_shape *s)
{
    return s->mirror && (i == 0 || i == 3) ? 3 - i : i;
}

/* The activations of common.clh on a vector, by clnet_activation value
 * (act_fn; -1 for none). */
CLNET_DEFINE_ACTIVATE(activate, float16)

/* (a0, b0, a1, b1, ...): a swizzle, which compiles to a vector
 * permutation where PoCL's shuffle2 moves lane by lane. */
static inline float16 zip(float8 a, float8 b)
{
    return ((float16)(a, b)).s08192a3b4c5d6e7f;
}

/* F(4x4, 3x3), Lavin & Gray's interpolation points 0, 1, -1, 2, -2 and
 * infinity: 6x6 input tiles 4 apart, 36 products per 16 outputs where
 * F(2x2) takes 64. Positions xi = 6 * i + j; no mirrored slots (G's rows
 * are not symmetric under the filter's reversal, so a transposed
 * convolution transforms its own rotated filters). */

/* The 1-D transforms on vectors of lanes: B^T d, G g and A^T m. */
static inline void bt6(const float16 d[6], float16 o[6])
{
    o[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
    o[1] = d[3] + d[4] - 4.0f * (d[1] + d[2]);
    o[2] = d[4] - d[3] + 4.0f * (d[1] - d[2]);
    o[3] = d[4] - d[2] + 2.0f * (d[3] - d[1]);
    o[4] = d[4] - d[2] - 2.0f * (d[3] - d[1]);
    o[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

static inline void g6(float16 a, float16 b, float16 c, float16 o[6])
{
    o[0] = 0.25f * a;
    o[1] = (a + b + c) * (-1.0f / 6.0f);
    o[2] = (a - b + c) * (-1.0f / 6.0f);
    o[3] = a * (1.0f / 24.0f) + b * (1.0f / 12.0f) + c * (1.0f / 6.0f);
    o[4] = a * (1.0f / 24.0f) - b * (1.0f / 12.0f) + c * (1.0f / 6.0f);
    o[5] = c;
}

static inline void at6(const float16 m[6], float16 o[4])
{
    const float16 s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
    o[0] = m[0] + s12 + s34;
    o[1] = d12 + 2.0f * d34;
    o[2] = s12 + 4.0f * s34;
    o[3] = d12 + 8.0f * d34 + m[5];
}

/* Column j (0 .. 3) of the VW tiles 4 columns apart whose row starts at
 * lane 0 of a[0]: every fourth lane of a[0 .. 3] from lane j, by
 * swizzles. */
static inline float16 every4(const float16 a[4], int j)
{
    switch (j) {
    case 0: return (float16)(a[0].s048c, a[1].s048c, a[2].s048c, a[3].s048c);
    case 1: return (float16)(a[0].s159d, a[1].s159d, a[2].s159d, a[3].s159d);
    case 2: return (float16)(a[0].s26ae, a[1].s26ae, a[2].s26ae, a[3].s26ae);
    default: return (float16)(a[0].s37bf, a[1].s37bf, a[2].s37bf, a[3].s37bf);
    }
}

/* The row of VW tiles 4 columns apart that holds column q of tile l at
 * position 4 * l + q, from the tiles' columns o[q]: four vectors,
 * interleaved by swizzles. */
static inline void interleave4(const float16 o[4], float16 row[4])
{
    const float16 p01lo = zip(o[0].lo, o[1].lo), p01hi = zip(o[0].hi, o[1].hi);
    const float16 p23lo = zip(o[2].lo, o[3].lo), p23hi = zip(o[2].hi, o[3].hi);
    row[0] = ((float16)(p01lo.lo, p23lo.lo)).s018923ab45cd67ef;
    row[1] = ((float16)(p01lo.hi, p23lo.hi)).s018923ab45cd67ef;
    row[2] = ((float16)(p01hi.lo, p23hi.lo)).s018923ab45cd67ef;
    row[3] = ((float16)(p01hi.hi, p23hi.hi)).s018923ab45cd67ef;
}

/* The 3x3 filters (k, c0 ..) of VW input channels as vector lanes (lanes
 * past C repeat the last), rotated with s->flip. */
static inline void load_filters(__global const float *w, int k, int c0, int count,
                                const wino_shape *s, float16 g[9])
{
    __global const float *wk = w + k * s->w_kstride;
    for (int tap = 0; tap < 9; tap++) {
        float v[VW];
        for (int l = 0; l < VW; l++)
            v[l] = wk[(c0 + min(l, count - 1)) * s->w_cstride + (s->flip ? 8 - tap : tap)];
        g[tap] = vload16(0, v);
    }
}

/* F(4x4, 3x3)'s U of wino_filter: 36 positions. */
static inline void filter4(const float16 g[9], __global float *dst, int step, int count)
{
    float16 t[3][6];
    for (int j = 0; j < 3; j++)
        g6(g[j], g[3 + j], g[6 + j], t[j]);
    for (int i = 0; i < 6; i++) {
        float16 row[6];
        g6(t[0][i], t[1][i], t[2][i], row);
        for (int j = 0; j < 6; j++)
            clnet_store_part16(dst + (6 * i + j) * step, count, row[j]);
    }
}

/* U[xi][k][c] = (G g G^T)[xi] for the 3x3 filters g = w[k][c] of VW
 * input channels c0.. at once, so that each of the 16 or 36 rows of U is
 * written a vector at a time. Grid: dim 0 = blocks of VW input channels
 * (rounded up), dim 1 = output channel k. */
__kernel void wino_filter(__global const float *w, int w_off, __global float *u, int u_off,
                          wino_shape s)
{
    const int c0 = get_global_id(0) * VW, k = get_global_id(1), count = min(VW, s.c - c0);
    if (count <= 0)
        return;
    float16 g[9];
    load_filters(w + w_off, k, c0, count, &s, g);
    __global float *dst = u + u_off + k * s.c + c0;
    const int step = s.k * s.c;
    if (s.tile == 4) {
        filter4(g, dst, step, count);
        return;
    }
    float16 t[4][3];
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
    }
    for (int i = 0; i < 4; i++) {
        const float16 a = t[i][0], b = t[i][1], d = t[i][2];
        clnet_store_part16(dst + (4 * i + 0) * step, count, a);
        clnet_store_part16(dst + (4 * i + 1) * step, count, 0.5f * (a + b + d));
        clnet_store_part16(dst + (4 * i + 2) * step, count, 0.5f * (a - b + d));
        clnet_store_part16(dst + (4 * i + 3) * step, count, d);
    }
}

/* The first tile of flat index `tile`: its image, and the input row and
 * column of its top-left corner (in unpadded coordinates). */
static inline void tile_origin(int tile, const wino_shape *s, int *img, int *ih, int *iw)
{
    const int per_image = s->tiles_h * s->tiles_w;
    const int rest = tile % per_image;
    *img = tile / per_image;
    *ih = rest / s->tiles_w * s->tile - s->pad_h;
    *iw = rest % s->tiles_w * s->tile - s->pad_w;
}

/* The image offset (img * bs + plane_off) and the top-left input row and
 * column of the tiles t0 .. t0 + VW - 1 (the last of `count` repeated),
 * stepping from tile to tile instead of dividing for each. */
static inline void lane_origins(int t0, int count, const wino_shape *s, int bs, int plane_off,
                                int base[VW], int row0[VW], int col0[VW])
{
    const int per_image = s->tiles_h * s->tiles_w;
    int img = t0 / per_image, rest = t0 % per_image;
    int ty = rest / s->tiles_w, tx = rest % s->tiles_w;
    for (int l = 0; l < VW; l++) {
        base[l] = img * bs + plane_off;
        row0[l] = ty * s->tile - s->pad_h;
        col0[l] = tx * s->tile - s->pad_w;
        if (l + 1 >= count)
            continue;
        if (++tx == s->tiles_w) {
            tx = 0;
            if (++ty == s->tiles_h) {
                ty = 0;
                img++;
            }
        }
    }
}

/* d[n * i + j] (i, j < n: an n x n input tile) of the VW tiles t0 .. of
 * one channel, lane by lane (lane l holding tile t0 + l, the last tile
 * repeated past the chunk), zero in the padding. */
static inline void gather_tiles(__global const float *x, int x_bs, int c, int t0, int count,
                                const wino_shape *s, int n, float16 *d)
{
    int base[VW], row0[VW], col0[VW];
    lane_origins(t0, count, s, x_bs, c * s->h * s->w, base, row0, col0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            float v[VW];
            for (int l = 0; l < VW; l++) {
                const int r = row0[l] + i, q = col0[l] + j;
                v[l] = r >= 0 && r < s->h && q >= 0 && q < s->w ? x[base[l] + r * s->w + q] : 0.0f;
            }
            d[n * i + j] = vload16(0, v);
        }
}

/* d[i][j] (4 x 4) of the VW tiles t0 .. t0 + VW - 1 of one channel, lane l
 * holding tile t0 + l (the last tile repeated past the chunk), zero in the
 * padding. Tiles that lie side by side within one tile row, clear of the
 * right and left edges, load each input row as 2 + 2 vectors and split
 * them into even and odd columns. */
static inline void load_tiles(__global const float *x, int x_bs, int c, int t0, int count,
                              const wino_shape *s, float16 d[4][4])
{
    int img, ih, iw;
    tile_origin(t0, s, &img, &ih, &iw);
    const int row_tiles = s->tiles_w - (t0 % (s->tiles_h * s->tiles_w)) % s->tiles_w;
    if (count == VW && row_tiles >= VW && iw >= 0 && iw + 2 * VW + 2 <= s->w) {
        __global const float *xc = x + img * x_bs + c * s->h * s->w;
        for (int i = 0; i < 4; i++) {
            const int r = ih + i;
            if (r < 0 || r >= s->h) {
                for (int j = 0; j < 4; j++)
                    d[i][j] = 0.0f;
                continue;
            }
            __global const float *p = xc + r * s->w + iw;
            const float16 a = vload16(0, p), b = vload16(0, p + VW);
            const float16 a2 = vload16(0, p + 2), b2 = vload16(0, p + 2 + VW);
            d[i][0] = (float16)(a.even, b.even);
            d[i][1] = (float16)(a.odd, b.odd);
            d[i][2] = (float16)(a2.even, b2.even);
            d[i][3] = (float16)(a2.odd, b2.odd);
        }
        return;
    }
    gather_tiles(x, x_bs, c, t0, count, s, 4, &d[0][0]);
}

/* F(4x4, 3x3)'s V = B^T d B of the 6 x 6 tiles d, its 36 positions
 * `step` apart at dst (the first `count` lanes): each row's d B first,
 * then B^T (d B) a column at a time. */
static inline void input4(const float16 d[6][6], __global float *dst, int step, int count)
{
    float16 f[6][6];
#pragma unroll
    for (int i = 0; i < 6; i++)
        bt6(d[i], f[i]);
#pragma unroll
    for (int j = 0; j < 6; j++) {
        float16 col[6], out[6];
#pragma unroll
        for (int i = 0; i < 6; i++)
            col[i] = f[i][j];
        bt6(col, out);
#pragma unroll
        for (int i = 0; i < 6; i++)
            clnet_store_part16(dst + (6 * i + j) * step, count, out[i]);
    }
}

/* V[xi][c][t] = (B^T d B)[xi] for VW tiles t of channel c (lanes past the
 * last tile repeat it; blocks wholly past it are zero). F(4x4, 3x3) takes
 * this kernel on planes of fewer than VW / 2 tiles a row, wino4_input_rows
 * on wider ones. Grid: dim 0 = blocks of VW tiles up to ld (rounded up to
 * whole work-groups), dim 1 = input channel c. */
__kernel void wino_input(__global const float *x, int x_off, int x_bs, __global float *v,
                         int v_off, wino_shape s)
{
    const int t0 = get_global_id(0) * VW, c = get_global_id(1);
    const int ntiles = s.images * s.tiles_h * s.tiles_w, count = min(VW, ntiles - t0);
    if (t0 >= s.ld)
        return;
    __global float *dst = v + v_off + c * s.ld + t0;
    const int step = s.c * s.ld;
    if (count <= 0) {
        for (int xi = 0; xi < (s.tile + 2) * (s.tile + 2); xi++)
            vstore16((float16)0.0f, 0, dst + xi * step);
        return;
    }
    if (s.tile == 4) {
        float16 d[6][6];
        gather_tiles(x + x_off, x_bs, c, t0, count, &s, 6, &d[0][0]);
        input4(d, dst, step, VW);
        return;
    }
    float16 d[4][4];
    load_tiles(x + x_off, x_bs, c, t0, count, &s, d);
    float16 e[4][4];
    for (int j = 0; j < 4; j++) {
        e[0][j] = d[0][j] - d[2][j];
        e[1][j] = d[1][j] + d[2][j];
        e[2][j] = d[2][j] - d[1][j];
        e[3][j] = d[1][j] - d[3][j];
    }
    for (int i = 0; i < 4; i++) {
        __global float *row = dst + 4 * slot_of(i, &s) * step;
        vstore16(e[i][0] - e[i][2], 0, row + slot_of(0, &s) * step);
        vstore16(e[i][1] + e[i][2], 0, row + step);
        vstore16(e[i][2] - e[i][1], 0, row + 2 * step);
        vstore16(e[i][1] - e[i][3], 0, row + slot_of(3, &s) * step);
    }
}

/* Stores the outputs out[tile * r + q] (r, q < s->tile) of VW tiles lane
 * by lane (lane l: tile t0 + l), those inside the plane. */
static inline void scatter_tiles(__global float *y, int y_bs, int k, int t0, int count,
                                 const wino_shape *s, const float16 *out)
{
    int base[VW], row0[VW], col0[VW];
    lane_origins(t0, count, s, y_bs, k * s->oh * s->ow, base, row0, col0);
    for (int r = 0; r < s->tile; r++)
        for (int q = 0; q < s->tile; q++) {
            float v[VW];
            vstore16(out[s->tile * r + q], 0, v);
            for (int l = 0; l < count; l++) {
                const int orow = row0[l] + s->pad_h + r, ocol = col0[l] + s->pad_w + q;
                if (orow < s->oh && ocol < s->ow)
                    y[base[l] + orow * s->ow + ocol] = v[l];
            }
        }
}

/* Stores lane values of the 2 x 2 outputs of VW tiles: y[r][q] holds
 * output (2*tile_row + r, 2*tile_col + q) of each lane's tile. Tiles side by
 * side in one row whose outputs all fall inside the plane store each output
 * row as two interleaved vectors; the rest, lane by lane. */
static inline void store_tiles(__global float *y, int y_bs, int k, int t0, int count,
                               const wino_shape *s, float16 out[2][2])
{
    int img, ih, iw;
    tile_origin(t0, s, &img, &ih, &iw);
    const int oh = ih + s->pad_h, ow = iw + s->pad_w;
    const int row_tiles = s->tiles_w - (t0 % (s->tiles_h * s->tiles_w)) % s->tiles_w;
    __global float *yk = y + img * y_bs + k * s->oh * s->ow;
    if (count == VW && row_tiles >= VW && ow + 2 * VW <= s->ow && oh + 2 <= s->oh) {
        for (int r = 0; r < 2; r++) {
            __global float *row = yk + (oh + r) * s->ow + ow;
            vstore16(zip(out[r][0].lo, out[r][1].lo), 0, row);
            vstore16(zip(out[r][0].hi, out[r][1].hi), 0, row + VW);
        }
        return;
    }
    scatter_tiles(y, y_bs, k, t0, count, s, &out[0][0]);
}

/* The first `count` lanes at p, zero past them. */
static inline float16 load_part(__global const float *p, int count)
{
    if (count == VW)
        return vload16(0, p);
    float t[VW];
    for (int l = 0; l < VW; l++)
        t[l] = l < count ? p[l] : 0.0f;
    return vload16(0, t);
}

/* The 4 x 4 outputs of F(4x4, 3x3), out[r][q] = act((A^T M A)[r][q] +
 * bias), from the 36 positions of M at src, `step` apart (the first
 * `count` lanes read). */
static inline void output4(__global const float *src, int step, int count, float16 bias,
                           const wino_shape *s, float16 out[4][4])
{
    float16 e[4][6];
    for (int i = 0; i < 6; i++) {
        float16 q[6], o[4];
        for (int j = 0; j < 6; j++)
            q[j] = load_part(src + (6 * i + j) * step, count);
        at6(q, o);
        for (int r = 0; r < 4; r++)
            e[r][i] = o[r];
    }
    for (int r = 0; r < 4; r++) {
        float16 o[4];
        at6(e[r], o);
        for (int q = 0; q < 4; q++)
            out[q][r] = activate(bias + o[q], s->act_fn, s->act_alpha);
    }
}

/* y = act((A^T M A) + b[k]) for VW tiles of output channel k (F(4x4, 3x3)
 * on planes of fewer than VW / 2 tiles a row; wino4_output_rows on wider
 * ones). Grid: dim 0 = blocks of VW tiles (rounded up), dim 1 = output
 * channel k. */
__kernel void wino_output(__global const float *m, int m_off, __global const float *b,
                          int b_off, __global float *y, int y_off, int y_bs, wino_shape s)
{
    const int t0 = get_global_id(0) * VW, k = get_global_id(1);
    const int ntiles = s.images * s.tiles_h * s.tiles_w, count = min(VW, ntiles - t0);
    if (count <= 0)
        return;
    __global const float *src = m + m_off + k * s.ld + t0;
    const int step = s.k * s.ld;
    const float16 bias = s.has_bias ? (float16)b[b_off + k] : (float16)0.0f;
    if (s.tile == 4) {
        float16 out[4][4];
        output4(src, step, VW, bias, &s, out);
        scatter_tiles(y + y_off, y_bs, k, t0, count, &s, &out[0][0]);
        return;
    }
    float16 e[4][2];
    for (int i = 0; i < 4; i++) {
        float16 q[4];
        for (int j = 0; j < 4; j++)
            q[j] = vload16(0, src + (4 * slot_of(i, &s) + slot_of(j, &s)) * step);
        e[i][0] = q[0] + q[1] + q[2];
        e[i][1] = q[1] - q[2] - q[3];
    }
    float16 out[2][2];
    for (int j = 0; j < 2; j++) {
        out[0][j] = activate(bias + e[0][j] + e[1][j] + e[2][j], s.act_fn, s.act_alpha);
        out[1][j] = activate(bias + e[1][j] - e[2][j] - e[3][j], s.act_fn, s.act_alpha);
    }
    store_tiles(y + y_off, y_bs, k, t0, count, &s, out);
}

/* The weight gradient. y = A^T [(G g G^T) . (B^T d B)] A holds for every
 * filter g, so its derivative by g is dg = G^T [(A dy A^T) . (B^T d B)] G
 * for the tile dy of the output gradient, and over all tiles
 * dg = G^T [sum_t (A dy_t A^T) . V_t] G: 16 or 36 GEMMs of the transformed
 * output gradient by the input tiles of wino_input, one inverse transform
 * per filter. */

/* F(4x4, 3x3)'s A v for 4 values v (A = (A^T)^T, 6 x 4) and G^T m for 6
 * values m (3 x 6). */
static inline void a6(float16 v0, float16 v1, float16 v2, float16 v3, float16 o[6])
{
    o[0] = v0;
    o[1] = v0 + v1 + v2 + v3;
    o[2] = v0 - v1 + v2 - v3;
    o[3] = v0 + 2.0f * v1 + 4.0f * v2 + 8.0f * v3;
    o[4] = v0 - 2.0f * v1 + 4.0f * v2 - 8.0f * v3;
    o[5] = v3;
}

static inline void gt6(const float16 m[6], float16 o[3])
{
    const float16 s12 = m[1] + m[2], s34 = m[3] + m[4];
    o[0] = 0.25f * m[0] - s12 * (1.0f / 6.0f) + s34 * (1.0f / 24.0f);
    o[1] = (m[2] - m[1]) * (1.0f / 6.0f) + (m[3] - m[4]) * (1.0f / 12.0f);
    o[2] = (s34 - s12) * (1.0f / 6.0f) + m[5];
}

/* D[xi][t][k] = (A dy A^T)[xi] for the tile t of the output gradient
 * (2 x 2 or 4 x 4) and VW output channels k0.. as lanes (zero past K and
 * past the plane), rows of D `kp` apart (K rounded up to whole GEMM
 * tiles). Grid: dim 0 = tiles of the chunk, dim 1 = blocks of VW output
 * channels up to kp. */
__kernel void wino_dy(__global const float *dy, int dy_off, int dy_bs, __global float *d,
                      int d_off, int kp, wino_shape s)
{
    const int t = get_global_id(0), k0 = get_global_id(1) * VW;
    if (t >= s.images * s.tiles_h * s.tiles_w)
        return;
    int img, ih, iw;
    tile_origin(t, &s, &img, &ih, &iw);
    const int orow = ih + s.pad_h, ocol = iw + s.pad_w, n = s.tile;
    __global const float *src = dy + dy_off + img * dy_bs;
    float16 g[4][4];
    for (int r = 0; r < n; r++)
        for (int q = 0; q < n; q++) {
            const bool inside = orow + r < s.oh && ocol + q < s.ow;
            const int at = (orow + r) * s.ow + ocol + q, plane = s.oh * s.ow;
            float v[VW];
            for (int l = 0; l < VW; l++)
                v[l] = inside && k0 + l < s.k ? src[(k0 + l) * plane + at] : 0.0f;
            g[r][q] = vload16(0, v);
        }
    __global float *dst = d + d_off + t * kp + k0;
    const int step = s.ld * kp;
    if (n == 4) {
        float16 a[4][6];
        for (int q = 0; q < 4; q++)
            a6(g[0][q], g[1][q], g[2][q], g[3][q], a[q]);
        for (int i = 0; i < 6; i++) {
            float16 row[6];
            a6(a[0][i], a[1][i], a[2][i], a[3][i], row);
            for (int j = 0; j < 6; j++)
                vstore16(row[j], 0, dst + (6 * i + j) * step);
        }
        return;
    }
    float16 a[4][2];
    for (int q = 0; q < 2; q++) {
        a[0][q] = g[0][q];
        a[1][q] = g[0][q] + g[1][q];
        a[2][q] = g[0][q] - g[1][q];
        a[3][q] = -g[1][q];
    }
    for (int i = 0; i < 4; i++) {
        vstore16(a[i][0], 0, dst + (4 * i + 0) * step);
        vstore16(a[i][0] + a[i][1], 0, dst + (4 * i + 1) * step);
        vstore16(a[i][0] - a[i][1], 0, dst + (4 * i + 2) * step);
        vstore16(-a[i][1], 0, dst + (4 * i + 3) * step);
    }
}

/* dw[k][c] = G^T M G for the sums M[xi][c][k] of every tile (rows kp
 * apart), VW output channels k0.. at once; filters start at
 * dw[k * dw_kstride + c * 9]. Grid: dim 0 = input channel c, dim 1 =
 * blocks of VW output channels. */
__kernel void wino_filter_grad(__global const float *m, int m_off, int kp,
                               __global float *dw, int dw_off, int dw_kstride, wino_shape s)
{
    const int c = get_global_id(0), k0 = get_global_id(1) * VW;
    if (c >= s.c || k0 >= s.k)
        return;
    __global const float *src = m + m_off + c * kp + k0;
    const int step = s.c * kp;
    float out[9][VW];
    if (s.tile == 4) {
        float16 h[3][6];
        for (int j = 0; j < 6; j++) {
            float16 col[6], o[3];
            for (int i = 0; i < 6; i++)
                col[i] = vload16(0, src + (6 * i + j) * step);
            gt6(col, o);
            for (int r = 0; r < 3; r++)
                h[r][j] = o[r];
        }
        for (int r = 0; r < 3; r++) {
            float16 o[3];
            gt6(h[r], o);
            for (int q = 0; q < 3; q++)
                vstore16(o[q], 0, out[3 * r + q]);
        }
    } else {
        float16 h[3][4];
        for (int j = 0; j < 4; j++) {
            const float16 m0 = vload16(0, src + j * step), m1 = vload16(0, src + (4 + j) * step);
            const float16 m2 = vload16(0, src + (8 + j) * step);
            const float16 m3 = vload16(0, src + (12 + j) * step);
            h[0][j] = m0 + 0.5f * (m1 + m2);
            h[1][j] = 0.5f * (m1 - m2);
            h[2][j] = 0.5f * (m1 + m2) + m3;
        }
        for (int r = 0; r < 3; r++) {
            vstore16(h[r][0] + 0.5f * (h[r][1] + h[r][2]), 0, out[3 * r + 0]);
            vstore16(0.5f * (h[r][1] - h[r][2]), 0, out[3 * r + 1]);
            vstore16(0.5f * (h[r][1] + h[r][2]) + h[r][3], 0, out[3 * r + 2]);
        }
    }
    const int count = min(VW, s.k - k0);
    for (int l = 0; l < count; l++) {
        __global float *f = dw + dw_off + (k0 + l) * dw_kstride + c * 9;
        for (int tap = 0; tap < 9; tap++)
            f[tap] = out[tap][l];
    }
}

/* Planes of at least VW / 2 tiles a row take the *_rows kernels: a
 * work-item per tile row of one channel, VW tiles of that row at a time,
 * so that each input or output row is read or written as whole vectors
 * where blocks of VW tiles numbered across rows would gather lane by
 * lane. */

/* Columns c .. c + VW - 1 of an input row w wide, zero outside it. */
static inline float16 load_cols(__global const float *row, int w, int c)
{
    if (c >= 0 && c + VW <= w)
        return vload16(0, row + c);
    float v[VW];
    for (int l = 0; l < VW; l++)
        v[l] = c + l >= 0 && c + l < w ? row[c + l] : 0.0f;
    return vload16(0, v);
}

/* V[xi][c][t] = (B^T d B)[xi] for the tiles of one tile row of channel c
 * (V's columns past T are left as they are: no output reads their
 * products). Grid: dim 0 = tile rows of the chunk (images * tiles_h, rounded up),
 * dim 1 = input channel c. */
__kernel void wino4_input_rows(__global const float *x, int x_off, int x_bs,
                               __global float *v, int v_off, wino_shape s)
{
    const int row = get_global_id(0), c = get_global_id(1), rows = s.images * s.tiles_h;
    if (row >= rows)
        return;
    const int ih = row % s.tiles_h * 4 - s.pad_h;
    __global const float *xc = x + x_off + row / s.tiles_h * x_bs + c * s.h * s.w;
    __global float *dst = v + v_off + c * s.ld + row * s.tiles_w;
    const int step = s.c * s.ld;
    for (int tx0 = 0; tx0 < s.tiles_w; tx0 += VW) {
        const int count = min(VW, s.tiles_w - tx0);
        float16 d[6][6];
        const int c0 = tx0 * 4 - s.pad_w;
#pragma unroll
        for (int i = 0; i < 6; i++) {
            const int r = ih + i;
            if (r >= 0 && r < s.h) {
                __global const float *p = xc + r * s.w;
                float16 a[4], b[4];
#pragma unroll
                for (int q = 0; q < 4; q++) {
                    a[q] = load_cols(p, s.w, c0 + VW * q);
                    b[q] = load_cols(p, s.w, c0 + VW * q + 2);
                }
                for (int j = 0; j < 4; j++)
                    d[i][j] = every4(a, j);
                d[i][4] = every4(b, 2);
                d[i][5] = every4(b, 3);
            } else {
                for (int j = 0; j < 6; j++)
                    d[i][j] = 0.0f;
            }
        }
        input4(d, dst + tx0, step, count);
    }
}

/* y = act((A^T M A) + b[k]) for the tiles of one tile row of output
 * channel k, each output row of VW tiles written as four vectors where
 * it lies inside the plane. Grid: dim 0 = tile rows of the chunk (rounded
 * up), dim 1 = output channel k. */
__kernel void wino4_output_rows(__global const float *m, int m_off, __global const float *b,
                                int b_off, __global float *y, int y_off, int y_bs,
                                wino_shape s)
{
    const int row = get_global_id(0), k = get_global_id(1);
    if (row >= s.images * s.tiles_h)
        return;
    const int oh0 = row % s.tiles_h * 4;
    __global const float *src = m + m_off + k * s.ld + row * s.tiles_w;
    __global float *yk = y + y_off + row / s.tiles_h * y_bs + k * s.oh * s.ow;
    const int step = s.k * s.ld;
    const float16 bias = s.has_bias ? (float16)b[b_off + k] : (float16)0.0f;
    for (int tx0 = 0; tx0 < s.tiles_w; tx0 += VW) {
        /* whole vectors of M while they stay inside its row of ld */
        const int count = min(VW, s.tiles_w - tx0);
        float16 out[4][4];
        output4(src + tx0, step, row * s.tiles_w + tx0 + VW <= s.ld ? VW : count, bias, &s,
                out);
        const int col0 = tx0 * 4, n = min(4 * count, s.ow - col0);
        for (int r = 0; r < 4 && oh0 + r < s.oh; r++) {
            float16 vec[4];
            interleave4(out[r], vec);
            __global float *dst = yk + (oh0 + r) * s.ow + col0;
            for (int q = 0; q < 4; q++)
                clnet_store_part16(dst + q * VW, clamp(n - q * VW, 0, VW), vec[q]);
        }
    }
}
