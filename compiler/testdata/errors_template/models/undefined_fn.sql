select {{ cents_to_dolars('x') }}
