"""Active MK: the Deal's digital incentive programme for people with type 2 diabetes.

`programme` holds the rules of who may take part and on what terms (eligibility, device
routes, the exercise-safety screen, pauses, withdrawal levels); `consent` the versioned
consent documents; `readiness` the one answer goals need; `participants` reads and writes
them in the app database and the identifiable store. All but `participants` are pure.
"""
