/* winograd.cl - the transforms of Winograd's F(2x2, 3x3) convolution
 * (Lavin & Gray 2016) around 16 GEMMs (lib/opencl/cl_conv_winograd.c):
 * filters U = G g G^T, input tiles V = B^T d B, and the output Y = A^T M A
 * with the bias and a fused activation. */

/* Layout shared with `wino_shape` in cl_conv_winograd.c (ints and one
 * float). A chunk of `images` images has T = images * tiles_h * tiles_w
 * tiles, numbered (image, tile row, tile column); U is [16][K][C], V
 * [16][C][T] and M [16][K][T], the 16 being the positions of a 4x4 tile,
 * rows of V and M `ld` apart: T rounded up to whole tiles of the GEMM, the
 * columns past T being zero in V.
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
    int w_kstride, w_cstride, flip, mirror;
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

static inline void store_part(__global float *dst, int count, float16 v)
{
    if (count == VW) {
        vstore16(v, 0, dst);
        return;
    }
    float t[VW];
    vstore16(v, 0, t);
    for (int j = 0; j < count; j++)
        dst[j] = t[j];
}

/* U[xi][k][c] = (G g G^T)[xi] for the 3x3 filters g = w[k][c] of VW
 * input channels c0.. at once (lanes past C repeat the last), so that each
 * of the 16 rows of U is written a vector at a time. Grid: dim 0 = blocks
 * of VW input channels (rounded up), dim 1 = output channel k. */
__kernel void wino_filter(__global const float *w, int w_off, __global float *u, int u_off,
                          wino_shape s)
{
    const int c0 = get_global_id(0) * VW, k = get_global_id(1), count = min(VW, s.c - c0);
    if (count <= 0)
        return;
    __global const float *wk = w + w_off + k * s.w_kstride;
    float16 g[9];
    for (int tap = 0; tap < 9; tap++) {
        float v[VW];
        for (int l = 0; l < VW; l++)
            v[l] = wk[(c0 + min(l, count - 1)) * s.w_cstride + (s.flip ? 8 - tap : tap)];
        g[tap] = vload16(0, v);
    }
    float16 t[4][3];
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
    }
    __global float *dst = u + u_off + k * s.c + c0;
    const int step = s.k * s.c;
    for (int i = 0; i < 4; i++) {
        const float16 a = t[i][0], b = t[i][1], d = t[i][2];
        store_part(dst + (4 * i + 0) * step, count, a);
        store_part(dst + (4 * i + 1) * step, count, 0.5f * (a + b + d));
        store_part(dst + (4 * i + 2) * step, count, 0.5f * (a - b + d));
        store_part(dst + (4 * i + 3) * step, count, d);
    }
}

/* The first tile of flat index `tile`: its image, and the input row and
 * column of its top-left corner (in unpadded coordinates). */
static inline void tile_origin(int tile, const wino_shape *s, int *img, int *ih, int *iw)
{
    const int per_image = s->tiles_h * s->tiles_w;
    const int rest = tile % per_image;
    *img = tile / per_image;
    *ih = rest / s->tiles_w * 2 - s->pad_h;
    *iw = rest % s->tiles_w * 2 - s->pad_w;
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
        row0[l] = ty * 2 - s->pad_h;
        col0[l] = tx * 2 - s->pad_w;
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
    int base[VW], row0[VW], col0[VW];
    lane_origins(t0, count, s, x_bs, c * s->h * s->w, base, row0, col0);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            float v[VW];
            for (int l = 0; l < VW; l++) {
                const int r = row0[l] + i, q = col0[l] + j;
                v[l] = r >= 0 && r < s->h && q >= 0 && q < s->w ? x[base[l] + r * s->w + q] : 0.0f;
            }
            d[i][j] = vload16(0, v);
        }
}

/* V[xi][c][t] = (B^T d B)[xi] for VW tiles t of channel c (lanes past the
 * last tile repeat it; blocks wholly past it are zero). Grid: dim 0 =
 * blocks of VW tiles up to ld (rounded up to whole work-groups), dim 1 =
 * input channel c. */
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
        for (int xi = 0; xi < 16; xi++)
            vstore16((float16)0.0f, 0, dst + xi * step);
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
        const uint16 lo = (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const uint16 hi = lo + 8;
        for (int r = 0; r < 2; r++) {
            __global float *row = yk + (oh + r) * s->ow + ow;
            vstore16(shuffle2(out[r][0], out[r][1], lo), 0, row);
            vstore16(shuffle2(out[r][0], out[r][1], hi), 0, row + VW);
        }
        return;
    }
    int base[VW], row0[VW], col0[VW];
    lane_origins(t0, count, s, y_bs, k * s->oh * s->ow, base, row0, col0);
    for (int r = 0; r < 2; r++)
        for (int q = 0; q < 2; q++) {
            float v[VW];
            vstore16(out[r][q], 0, v);
            for (int l = 0; l < count; l++) {
                const int orow = row0[l] + s->pad_h + r, ocol = col0[l] + s->pad_w + q;
                if (orow < s->oh && ocol < s->ow)
                    y[base[l] + orow * s->ow + ocol] = v[l];
            }
        }
}

/* y = act((A^T M A) + b[k]) for VW tiles of output channel k. Grid: dim 0 =
 * blocks of VW tiles (rounded up), dim 1 = output channel k. */
__kernel void wino_output(__global const float *m, int m_off, __global const float *b,
                          int b_off, __global float *y, int y_off, int y_bs, wino_shape s)
{
    const int t0 = get_global_id(0) * VW, k = get_global_id(1);
    const int ntiles = s.images * s.tiles_h * s.tiles_w, count = min(VW, ntiles - t0);
    if (count <= 0)
        return;
    __global const float *src = m + m_off + k * s.ld + t0;
    const int step = s.k * s.ld;
    float16 e[4][2];
    for (int i = 0; i < 4; i++) {
        float16 q[4];
        for (int j = 0; j < 4; j++)
            q[j] = vload16(0, src + (4 * slot_of(i, &s) + slot_of(j, &s)) * step);
        e[i][0] = q[0] + q[1] + q[2];
        e[i][1] = q[1] - q[2] - q[3];
    }
    const float16 bias = s.has_bias ? (float16)b[b_off + k] : (float16)0.0f;
    float16 out[2][2];
    for (int j = 0; j < 2; j++) {
        out[0][j] = activate(bias + e[0][j] + e[1][j] + e[2][j], s.act_fn, s.act_alpha);
        out[1][j] = activate(bias + e[1][j] - e[2][j] - e[3][j], s.act_fn, s.act_alpha);
    }
    store_tiles(y + y_off, y_bs, k, t0, count, &s, out);
}

/* The weight gradient. y = A^T [(G g G^T) . (B^T d B)] A holds for every
 * filter g, so its derivative by g is dg = G^T [(A dy A^T) . (B^T d B)] G
 * for the 2x2 tile dy of the output gradient, and over all tiles
 * dg = G^T [sum_t (A dy_t A^T) . V_t] G: 16 GEMMs of the transformed
 * output gradient by the input tiles of wino_input, one inverse transform
 * per filter. */

/* D[xi][t][k] = (A dy A^T)[xi] for the 2x2 tile t of the output gradient
 * and VW output channels k0.. as lanes (zero past K and past the plane),
 * rows of D `kp` apart (K rounded up to whole GEMM tiles). Grid: dim 0 =
 * tiles of the chunk, dim 1 = blocks of VW output channels up to kp. */
__kernel void wino_dy(__global const float *dy, int dy_off, int dy_bs, __global float *d,
                      int d_off, int kp, wino_shape s)
{
    const int t = get_global_id(0), k0 = get_global_id(1) * VW;
    if (t >= s.images * s.tiles_h * s.tiles_w)
        return;
    int img, ih, iw;
    tile_origin(t, &s, &img, &ih, &iw);
    const int orow = ih + s.pad_h, ocol = iw + s.pad_w;
    __global const float *src = dy + dy_off + img * dy_bs;
    float16 g[2][2];
    for (int r = 0; r < 2; r++)
        for (int q = 0; q < 2; q++) {
            const bool inside = orow + r < s.oh && ocol + q < s.ow;
            const int at = (orow + r) * s.ow + ocol + q, plane = s.oh * s.ow;
            float v[VW];
            for (int l = 0; l < VW; l++)
                v[l] = inside && k0 + l < s.k ? src[(k0 + l) * plane + at] : 0.0f;
            g[r][q] = vload16(0, v);
        }
    float16 a[4][2];
    for (int q = 0; q < 2; q++) {
        a[0][q] = g[0][q];
        a[1][q] = g[0][q] + g[1][q];
        a[2][q] = g[0][q] - g[1][q];
        a[3][q] = -g[1][q];
    }
    __global float *dst = d + d_off + t * kp + k0;
    const int step = s.ld * kp;
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
    float16 h[3][4];
    for (int j = 0; j < 4; j++) {
        const float16 m0 = vload16(0, src + j * step), m1 = vload16(0, src + (4 + j) * step);
        const float16 m2 = vload16(0, src + (8 + j) * step), m3 = vload16(0, src + (12 + j) * step);
        h[0][j] = m0 + 0.5f * (m1 + m2);
        h[1][j] = 0.5f * (m1 - m2);
        h[2][j] = 0.5f * (m1 + m2) + m3;
    }
    float out[9][VW];
    for (int r = 0; r < 3; r++) {
        vstore16(h[r][0] + 0.5f * (h[r][1] + h[r][2]), 0, out[3 * r + 0]);
        vstore16(0.5f * (h[r][1] - h[r][2]), 0, out[3 * r + 1]);
        vstore16(0.5f * (h[r][1] + h[r][2]) + h[r][3], 0, out[3 * r + 2]);
    }
    const int count = min(VW, s.k - k0);
    for (int l = 0; l < count; l++) {
        __global float *f = dw + dw_off + (k0 + l) * dw_kstride + c * 9;
        for (int tap = 0; tap < 9; tap++)
            f[tap] = out[tap][l];
    }
}
