"""Name, place and code vocabularies for the synthetic worlds.

Weights are the frequencies measured on the sample world (``../shared/samples``), with its
typos removed, so that generated worlds share names the way real custody rolls do: many
unrelated adults called JOSE GARCIA or MARIA LOPEZ.
"""

from __future__ import annotations

# Given names by sex, weighted by how often the sample uses them (upper case, no accents).
FEMALE_GIVEN: tuple[tuple[str, int], ...] = (
    ("MARIA", 117), ("ROSA", 54), ("ANA", 52), ("ELVIA", 30), ("MARTA", 28), ("SANDRA", 27),
    ("SONIA", 26), ("GLENDA", 23), ("DILCIA", 18), ("HEIDY", 17), ("KARLA", 17), ("VILMA", 17),
    ("LUCIA", 16), ("WENDY", 15), ("BLANCA", 12), ("BRENDA", 12), ("INGRID", 12), ("NORMA", 11),
    ("YOLANDA", 10), ("JUANA", 10), ("ROSARIO", 9), ("YESENIA", 9), ("DAYANA", 9), ("IRIS", 9),
    ("ALEJANDRA", 9), ("REINA", 9), ("GLORIA", 8), ("MELANY", 8), ("MIRNA", 7), ("ALBA", 7),
    ("LILIAN", 7), ("NICOLE", 7), ("GABRIELA", 7), ("CAMILA", 7), ("FERNANDA", 7), ("DELMY", 6),
    ("OLGA", 6), ("YARITZA", 6), ("PAOLA", 6), ("IRMA", 6), ("DANIELA", 5), ("JENNIFER", 5),
    ("DINA", 5), ("KEYLA", 5), ("LESLY", 5), ("CATALINA", 5), ("ELENA", 4), ("EVELYN", 4),
    ("ANDREA", 4), ("VALERIA", 3), ("SOFIA", 3), ("ESPERANZA", 3), ("FLOR", 2), ("GENESIS", 2),
    ("MIRTA", 2), ("MAIRA", 2),
)
MALE_GIVEN: tuple[tuple[str, int], ...] = (
    ("JOSE", 189), ("JUAN", 117), ("CARLOS", 91), ("JORGE", 70), ("LUIS", 66), ("MIGUEL", 50),
    ("MANUEL", 45), ("FRANCISCO", 43), ("PEDRO", 41), ("OSCAR", 30), ("VICTOR", 28), ("MARIO", 27),
    ("EDWIN", 27), ("RIGOBERTO", 25), ("JESUS", 22), ("BRAYAN", 22), ("ELMER", 20), ("HENRY", 18),
    ("DARWIN", 18), ("JULIO", 18), ("MARVIN", 17), ("FREDY", 17), ("ANGEL", 16), ("WILMER", 15),
    ("SANTOS", 15), ("ANDRES", 15), ("ESTEBAN", 15), ("ERICK", 15), ("DENIS", 14), ("BYRON", 14),
    ("HECTOR", 14), ("MATEO", 14), ("ALEXANDER", 14), ("NELSON", 13), ("DAVID", 13), ("ABNER", 13),
    ("WALTER", 13), ("JOSUE", 13), ("SAMUEL", 12), ("ALFREDO", 12), ("SELVIN", 12), ("ANDERSON", 12),
    ("CRISTIAN", 12), ("KEVIN", 12), ("ISMAEL", 10), ("GABRIEL", 10), ("ERNESTO", 9), ("DIEGO", 9),
    ("JONATHAN", 9), ("RUBEN", 9), ("BALTAZAR", 8), ("RICARDO", 8), ("DANIEL", 6), ("ROBERTO", 5),
)
SURNAMES: tuple[tuple[str, int], ...] = (
    ("GARCIA", 783), ("LOPEZ", 427), ("HERNANDEZ", 307), ("PEREZ", 236), ("GONZALEZ", 202),
    ("RODRIGUEZ", 154), ("MARTINEZ", 143), ("SANCHEZ", 135), ("RAMIREZ", 130), ("CRUZ", 94),
    ("FLORES", 90), ("GOMEZ", 87), ("MORALES", 77), ("VASQUEZ", 74), ("DIAZ", 73), ("REYES", 66),
    ("TORRES", 61), ("GUTIERREZ", 60), ("JIMENEZ", 52), ("ROMERO", 50), ("RUIZ", 50), ("ORTIZ", 49),
    ("AGUILAR", 42), ("ALVAREZ", 42), ("MUNOZ", 42), ("MENDOZA", 42), ("GUZMAN", 41), ("MEDINA", 36),
    ("CASTILLO", 36), ("VARGAS", 36), ("ESTRADA", 34), ("RAMOS", 34), ("MORENO", 34), ("LARA", 34),
    ("DOMINGUEZ", 34), ("CASTRO", 34), ("ORTEGA", 33), ("JUAREZ", 33), ("ROJAS", 32), ("HERRERA", 32),
    ("ORELLANA", 31), ("RIVERA", 30), ("CHAVEZ", 29), ("VELASQUEZ", 27), ("CORTES", 27),
    ("SALAZAR", 27), ("SOTO", 27), ("XOL", 25), ("BARRIOS", 24), ("AJANEL", 23), ("RIOS", 23),
    ("AVILA", 22), ("CONTRERAS", 22), ("LUNA", 22), ("MENDEZ", 22), ("GUERRERO", 22), ("POP", 21),
    ("BONILLA", 21), ("BAUTISTA", 20), ("CERVANTES", 20), ("MEJIA", 19), ("CHOC", 19),
    ("SANTIAGO", 19), ("ESPINOZA", 19), ("IXCOY", 18), ("TUM", 18), ("ZELAYA", 17), ("ALVARADO", 17),
    ("ESCOBAR", 17), ("GALDAMEZ", 17), ("TZUL", 16), ("BOL", 16), ("LEMUS", 16), ("FUNES", 15),
    ("CABRERA", 15), ("PINEDA", 15), ("CUC", 14), ("CALDERON", 14), ("NAVARRO", 13), ("CAAL", 13),
    ("CHUB", 13), ("QUIEJ", 13), ("COC", 13), ("HENRIQUEZ", 12), ("SIC", 12), ("AGUILERA", 12),
    ("MALDONADO", 11), ("ARGUETA", 10), ("MONTERROSO", 10), ("PORTILLO", 9), ("OSORIO", 9),
    ("FUENTES", 8), ("PAZ", 6), ("QUINTANILLA", 4),
)

# How a folded name is written with its accents in ORR records and mixed-case claims.
ACCENTED: dict[str, str] = {
    "GONZALEZ": "González", "ALVAREZ": "Álvarez", "LOPEZ": "López", "MARTINEZ": "Martínez",
    "CORTES": "Cortés", "SANCHEZ": "Sánchez", "ANGEL": "Ángel", "JOSE": "José", "GARCIA": "García",
    "RODRIGUEZ": "Rodríguez", "HERNANDEZ": "Hernández", "PEREZ": "Pérez", "MARIA": "María",
    "OSCAR": "Óscar", "GOMEZ": "Gómez", "RAMIREZ": "Ramírez", "VASQUEZ": "Vásquez",
    "JIMENEZ": "Jiménez", "GUTIERREZ": "Gutiérrez", "GUZMAN": "Guzmán", "MEJIA": "Mejía",
    "MUNOZ": "Muñoz", "JOSUE": "Josué", "VELASQUEZ": "Velásquez", "DIAZ": "Díaz", "VICTOR": "Víctor",
    "GALDAMEZ": "Galdámez", "CHAVEZ": "Chávez", "DOMINGUEZ": "Domínguez", "LUCIA": "Lucía",
    "SOFIA": "Sofía", "JESUS": "Jesús", "ANDRES": "Andrés", "RUBEN": "Rubén", "HECTOR": "Héctor",
    "JUAREZ": "Juárez", "MENDEZ": "Méndez", "CALDERON": "Calderón", "HENRIQUEZ": "Henríquez",
    "RIOS": "Ríos",
}

# (name in ORR's title case, name in ICE/removals, weight among parents, weight among others)
COUNTRIES: tuple[tuple[str, str, int, int], ...] = (
    ("Guatemala", "GUATEMALA", 34, 40),
    ("Honduras", "HONDURAS", 28, 33),
    ("El Salvador", "EL SALVADOR", 25, 14),
    ("Mexico", "MEXICO", 7, 7),
    ("Ecuador", "ECUADOR", 3, 3),
    ("Brazil", "BRAZIL", 2, 2),
)
US_BORN_COUNTRY = "United States"

# Border Patrol stations; the sample's 15 first, then more for the larger, longer worlds.
STATIONS: tuple[str, ...] = (
    "ELP-SNT", "RGV-KIN", "DRT-DRS", "RGV-FTB", "ELP-PDT", "TCA-NGL", "ELC-CAX", "RGV-HRL",
    "YUM-YUS", "LRT-LRN", "RGV-WSL", "SDC-CHU", "TCA-AJO", "SDC-IMB", "RGV-MCA",
    "RGV-RGC", "RGV-WSC", "RGV-BRP", "RGV-PTB", "LRT-ZAP", "LRT-HBV", "LRT-CTL", "LRT-LAS",
    "DRT-EGL", "DRT-UVA", "DRT-CSA", "DRT-BRA", "DRT-ABI", "BBT-ALP", "BBT-PRE", "BBT-MAR",
    "BBT-SBI", "ELP-YST", "ELP-FAB", "ELP-LCN", "ELP-DNM", "ELP-SNM", "ELP-TRU", "TCA-TUS",
    "TCA-CAS", "TCA-DGL", "TCA-NCO", "TCA-SON", "TCA-WLC", "TCA-BIS", "YUM-WLT", "YUM-BLY",
    "ELC-ELC", "ELC-IND", "ELC-BRN", "SDC-SYS", "SDC-BRF", "SDC-CMP", "SDC-ECJ", "SDC-TEM",
    "SDC-SNT", "RGV-CRP", "RGV-KNG", "RGV-FLR", "LRT-FRE", "LRT-SRZ", "DRT-CMS", "DRT-RCS",
    "BBT-VHN", "ELP-CLT", "ELP-ALB", "TCA-AJS", "TCA-TKN", "YUM-YUM", "ELC-CLX", "SDC-OCE",
    "RGV-MCB", "RGV-HDG", "LRT-LR2", "DRT-DEL", "BBT-FTH", "ELP-EPS", "TCA-TCN", "YUM-YNB",
    "ELC-ECE", "SDC-BOU", "RGV-ROM", "RGV-SAN", "LRT-COT", "DRT-QUE", "BBT-BBN", "ELP-SAN",
    "TCA-RUB", "YUM-GAD", "ELC-OCT", "SDC-PTE", "RGV-LAJ", "RGV-LOS", "LRT-DIL", "DRT-SPF",
)

# ORR shelters: (state, name stem); the record shows "<stem> Shelter <n>" and "<ST>-<nnnn>".
SHELTERS: tuple[tuple[str, str], ...] = (
    ("TX", "Casa Padre"), ("TX", "Southwest Key Antigua"), ("TX", "Bokenkamp"),
    ("AZ", "Casa Kokopelli"), ("AZ", "Tucson Estrella"), ("FL", "Homestead"),
    ("NY", "Cayuga Centers"), ("IL", "Heartland Bronzeville"), ("CA", "Casa San Diego"),
    ("MI", "Bethany Foster"), ("VA", "Shenandoah Valley"), ("TX", "Tornillo"),
    ("TX", "Casa Guadalupe"), ("TX", "Casa Houston"), ("AZ", "Casa Phoenix"), ("CA", "Crittenton"),
    ("NY", "Lincoln Hall"), ("FL", "His House"), ("IL", "Heartland Casa Guadalupe"),
    ("WA", "Selma Carson"), ("OR", "Morrison Center"), ("PA", "Bethany Lancaster"),
    ("NJ", "Children's Village"), ("MD", "Board of Child Care"), ("TX", "BCFS Raymondville"),
    ("TX", "BCFS San Antonio"), ("TX", "Upbring Brownsville"), ("CA", "Southwest Key Pleasant Hill"),
    ("AZ", "Southwest Key Campbell"), ("KS", "The Villages"),
)

# ICE facilities: (code, name) for detention, then criminal custody (US Marshals, county jails).
ICE_FACILITIES: tuple[tuple[str, str], ...] = (
    ("TACOMA", "Northwest Detention Center"), ("OTERO", "Otero County Processing Center"),
    ("VICTORVILLE", "FCI Victorville"), ("DILLEY", "South Texas Family Residential Center"),
    ("PISPC", "Port Isabel SPC"), ("SHERIDAN", "FCI Sheridan"), ("OTAYMESA", "Otay Mesa Detention Center"),
    ("ADELANTO", "Adelanto ICE Processing Center"), ("ELOY", "Eloy Federal Contract Facility"),
    ("KARNES", "Karnes County Residential Center"), ("STEWART", "Stewart Detention Center"),
    ("LASALLE", "LaSalle ICE Processing Center"), ("KROME", "Krome North SPC"),
    ("ELPASO", "El Paso SPC"), ("FLORENCE", "Florence SPC"), ("JENA", "Jena LaSalle Detention Facility"),
)
CRIMINAL_FACILITIES: tuple[tuple[str, str], ...] = (
    ("USMS-SDTX", "USMS Southern District of Texas"),
    ("USMS-WDTX", "USMS Western District of Texas"),
    ("COUNTY-HID", "Hidalgo County Jail"),
    ("USMS-DAZ", "USMS District of Arizona"),
    ("COUNTY-CAM", "Cameron County Jail"),
    ("USMS-SDCA", "USMS Southern District of California"),
)
PORTS: tuple[str, ...] = ("HARLINGEN TX", "ALEXANDRIA LA", "EL PASO TX", "MESA AZ", "SAN DIEGO CA")
