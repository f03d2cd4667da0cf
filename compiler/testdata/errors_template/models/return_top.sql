{{ return(1) }}
