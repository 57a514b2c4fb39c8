"""SSL (CVPR 2023) Table 1, x4, PSNR/SSIM, as reprinted by QBasicVSR (docs/method.md section 12). Y channel
except REDS4 (RGB). Params (M) as printed: they appear to exclude SPyNet."""

PAPER_TABLE1 = {
    # method: (params_M, {set: (psnr, ssim)})
    'Bicubic': (None, {'reds4': (26.14, 0.7292), 'vimeo90k_t_bi': (31.32, 0.8684), 'vid4_bi': (23.78, 0.6347),
                       'udm10_bd': (28.47, 0.8253), 'vimeo90k_t_bd': (31.30, 0.8687), 'vid4_bd': (21.80, 0.5246)}),
    'BasicVSR': (4.9, {'reds4': (31.42, 0.8909), 'vimeo90k_t_bi': (37.18, 0.9450), 'vid4_bi': (27.24, 0.8251),
                       'udm10_bd': (39.96, 0.9694), 'vimeo90k_t_bd': (37.53, 0.9498), 'vid4_bd': (27.96, 0.8553)}),
    'BasicVSR-lite': (1.3, {'reds4': (30.56, 0.8738), 'vimeo90k_t_bi': (36.57, 0.9397), 'vid4_bi': (26.86, 0.8125),
                            'udm10_bd': (38.98, 0.9645), 'vimeo90k_t_bd': (36.78, 0.9431), 'vid4_bd': (27.27, 0.8327)}),
    'L1-norm': (1.3, {'reds4': (30.66, 0.8766), 'vimeo90k_t_bi': (36.69, 0.9406), 'vid4_bi': (26.87, 0.8121),
                      'udm10_bd': (39.04, 0.9650), 'vimeo90k_t_bd': (36.84, 0.9437), 'vid4_bd': (27.29, 0.8335)}),
    'ASSL': (1.3, {'reds4': (30.74, 0.8770), 'vimeo90k_t_bi': (36.75, 0.9414), 'vid4_bi': (27.01, 0.8176),
                   'udm10_bd': (39.15, 0.9660), 'vimeo90k_t_bd': (36.93, 0.9450), 'vid4_bd': (27.40, 0.8400)}),
    'SSL': (1.0, {'reds4': (31.06, 0.8833), 'vimeo90k_t_bi': (36.82, 0.9419), 'vid4_bi': (27.15, 0.8208),
                  'udm10_bd': (39.35, 0.9665), 'vimeo90k_t_bd': (37.06, 0.9458), 'vid4_bd': (27.56, 0.8431)}),
}
